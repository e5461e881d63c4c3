#!/usr/bin/env bash
# The main job of crm, end to end, on a fresh SQLite database with the
# sample data of examples/data: import supporters from a French Excel-style
# sheet, pick the volunteers for an eviction in the Pas-de-Calais with a
# segment, create a campaign in French and English, and send it to an
# outbox folder of .eml files (no Resend account needed). Needs only Go.
# Run from the repository root:
#
#   bash examples/demo.sh
#
# It leaves crm-demo/crm.db and crm-demo/outbox/ behind to look at.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/crm" ./cmd/crm

rm -rf crm-demo
mkdir -p crm-demo
export CRM_DB=crm-demo/crm.db

step() { printf '\n$ crm %s\n' "$*"; "$bin/crm" "$@"; }

step lists create alertes --title "Alertes expulsions" --kind alerts
step import supporters examples/data/supporters.csv --list alertes \
  --consent "Inscription papier aux alertes, distribution du 12 janvier"
step supporters count --segment 'interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse'
step segments save pas-de-calais 'interest:terrain AND (city:Calais OR postcode:62*) AND NOT tag:presse'
step campaign create expulsion-demain --list alertes --segment segment:pas-de-calais \
  --from "Solidarité Calais <alertes@asso.example.org>" \
  --template fr=examples/data/lettre.fr.md --template en=examples/data/letter.en.md
step send expulsion-demain --dry-run
step send expulsion-demain --outbox crm-demo/outbox --yes
step send expulsion-demain --outbox crm-demo/outbox --yes
step campaign show expulsion-demain
printf '\nThe .eml files are in %s; open one with any mail client.\n' "$(pwd)/crm-demo/outbox"
ls crm-demo/outbox
