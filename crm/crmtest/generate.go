// Package crmtest helps test code that uses the crm package: it writes
// realistic, deterministic sample data.
package crmtest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

var (
	firstNames = []string{"Amina", "Jo", "Hélène", "Mamadou", "Léa", "Youssef", "Zoé", "Karim", "Chloé", "Ibrahima",
		"Camille", "Naïma", "Théo", "Fatou", "Lucas", "Sarah", "Omar", "Manon", "Élodie", "Samir", "Inès", "Hugo",
		"Aïcha", "Louis", "Nour", "Gaëlle", "Moussa", "Jeanne", "Rémi", "Awa"}
	lastNames = []string{"Kaci", "Peeters", "Dupont", "Diallo", "Martin", "Benali", "Bernard", "Haddad", "Petit",
		"Traoré", "Durand", "Lefèvre", "Moreau", "N'Diaye", "Laurent", "Garcia", "Mercier", "Janssens", "Faure",
		"Roux", "Fontaine", "Chevalier", "Cissé", "Bonnet", "Lambert", "Girard", "Maes", "Mathieu", "Blanc", "Gauthier"}
	places = []struct{ city, postcode string }{
		{"Calais", "62100"}, {"Boulogne-sur-Mer", "62200"}, {"Dunkerque", "59140"}, {"Lille", "59000"},
		{"Grande-Synthe", "59760"}, {"Arras", "62000"}, {"Paris", "75011"}, {"Paris", "75018"}, {"Montreuil", "93100"},
		{"Saint-Denis", "93200"}, {"Lyon", "69007"}, {"Marseille", "13003"}, {"Briançon", "05100"}, {"Nice", "06000"},
		{"Liège", "4000"}, {"Bruxelles", "1000"}, {"Namur", "5000"}, {"Rennes", "35000"}, {"Nantes", "44000"},
		{"Toulouse", "31000"},
	}
	domains   = []string{"example.org", "example.com", "exemple.fr", "mail.example.net", "asso.example.org"}
	languages = []string{"fr", "fr", "fr", "fr", "fr", "fr", "fr", "en", "nl", "ar"}
	tags      = []string{"benevole", "presse", "donateur", "hebergeur", "elu", "juriste", "calais-2025", "liege", "urgent", "medecin"}
	interests = []string{"terrain", "hebergement", "redaction", "reseaux", "traduction", "juridique", "transport", "collecte"}
)

// SupportersHeader is the header WriteSupportersCSV writes.
const SupportersHeader = "email,first_name,last_name,phone,city,postcode,language,tags,interests"

// WriteSupportersCSV writes a header and n rows of realistic supporters
// (French and Belgian names and places, 0 to 3 tags, 0 to 2 interests
// from the seeded vocabulary) to w. The same n and seed always give the
// same bytes; every email is unique.
func WriteSupportersCSV(w io.Writer, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(SupportersHeader + "\n")
	var sb strings.Builder
	for i := 0; i < n; i++ {
		first, last := firstNames[rng.IntN(len(firstNames))], lastNames[rng.IntN(len(lastNames))]
		place := places[rng.IntN(len(places))]
		sb.Reset()
		fmt.Fprintf(&sb, "%s.%s.%d@%s,%s,%s,06 %02d %02d %02d %02d,%s,%s,%s,",
			asciiLower(first), asciiLower(last), i, domains[rng.IntN(len(domains))], first, csvField(last),
			rng.IntN(100), rng.IntN(100), rng.IntN(100), rng.IntN(100), place.city, place.postcode,
			languages[rng.IntN(len(languages))])
		pick(&sb, rng, tags, 3)
		sb.WriteByte(',')
		pick(&sb, rng, interests, 2)
		sb.WriteByte('\n')
		if _, err := bw.WriteString(sb.String()); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// pick writes up to max distinct words, separated by ';'.
func pick(sb *strings.Builder, rng *rand.Rand, words []string, max int) {
	k := rng.IntN(max + 1)
	start := rng.IntN(len(words))
	for j := 0; j < k; j++ {
		if j > 0 {
			sb.WriteByte(';')
		}
		sb.WriteString(words[(start+j*3)%len(words)])
	}
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// asciiLower makes the local part of an address from a name.
func asciiLower(s string) string {
	r := strings.NewReplacer("é", "e", "è", "e", "ë", "e", "ï", "i", "É", "e", "ç", "c", "'", "")
	return strings.ToLower(r.Replace(s))
}
