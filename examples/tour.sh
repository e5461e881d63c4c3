#!/usr/bin/env bash
# A tour of the crm command on a fresh SQLite database: supporters, a
# list, consent, a donation, and what the association then knows about
# one person. Needs only Go. Run from the repository root:
#
#   bash examples/tour.sh
#
# It builds crm into a temporary folder and leaves the database in
# ./crm-tour/crm.db so you can keep exploring with
#   go run ./cmd/crm --db crm-tour/crm.db supporters list
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/crm" ./cmd/crm

mkdir -p crm-tour
rm -f crm-tour/crm.db crm-tour/crm.db-wal crm-tour/crm.db-shm
export CRM_DB=crm-tour/crm.db

step() { printf '\n$ crm %s\n' "$*"; "$bin/crm" "$@"; }

step init
step supporters add --email "Amina.Kaci@example.org" --first-name Amina --last-name Kaci \
  --city Calais --postcode 62100 --tag benevole --interest terrain=weekends --interest traduction
step supporters add --email jo.peeters@example.org --first-name Jo --city Liège --country Belgique \
  --lang en --interest hebergement="one room, from March"
step supporters add --email redaction@journal.example.org --org "Le Journal" --tag presse
step supporters tag jo.peeters@example.org hebergeur
step lists create alertes --title "Alertes expulsions" --kind alerts --double-opt-in
step lists create lettre --title "La lettre mensuelle"
step subscribe amina.kaci@example.org --list alertes --consent "Je veux être prévenue des expulsions" --confirmed
step subscribe jo.peeters@example.org --list lettre --consent "Yes, send me the monthly letter"
step donations add --email amina.kaci@example.org --amount 25,50 --date 2026-01-31 --method transfer --fund hiver
step donations add --email jo.peeters@example.org --amount 10 --date 2026-02-15 --method cash --recurring
step supporters list
step supporters count --interest terrain
step lists list
step donations report --by month
step supporters show amina.kaci@example.org
printf '\nThe database is in %s.\n' "$CRM_DB"
