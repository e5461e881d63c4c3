package newsletter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/uptrace/bun"

	"github.com/assocrm/assocrm/crm"
	"github.com/assocrm/assocrm/internal/dbutil"
)

// ListTemplate is a list's own confirmation or welcome email in one
// language: Markdown with a front matter holding subject:, as campaign
// templates are (see Template), plus {{.List}}, and in a confirmation
// {{.ConfirmURL}} (required) and {{range .ConfirmLinks}}{{.Title}}
// {{.URL}}{{end}}.
type ListTemplate struct {
	bun.BaseModel `bun:"table:newsletter_list_templates" json:"-"`

	ListID   int64      `bun:"list_id,pk" json:"-"`
	Kind     NoticeKind `bun:"kind,pk" json:"kind"`
	Language string     `bun:"language,pk" json:"language"`
	Position int        `bun:"position" json:"-"` // 0 is the variant for other languages
	Source   string     `bun:"source" json:"source"`
}

// parse parses the template with the footer its kind ends with.
func (t *ListTemplate) parse() (*Template, error) {
	f, fields := footerFor(t.Language), welcomeFields
	if t.Kind == NoticeConfirm {
		f, fields = confirmFooterFor(t.Language), confirmFields
	}
	tpl, err := parseTemplate(t.Language, t.Source, f, fields)
	if err != nil {
		return nil, err
	}
	if tpl.Subject() == "" {
		return nil, &TemplateError{Line: 1, Reason: "no subject: start the file with a front matter: ---, subject: ..., ---"}
	}
	if t.Kind == NoticeConfirm {
		if used, _ := fieldsUsed(t.Source); !slices.Contains(used, "ConfirmURL") && !slices.Contains(used, "ConfirmLinks") {
			return nil, &TemplateError{Reason: "a confirmation email must carry its link: {{.ConfirmURL}} (or {{range .ConfirmLinks}}{{.URL}}{{end}})"}
		}
	}
	return tpl, nil
}

// DefaultWelcome returns the package's own welcome email in the language
// (fr or en), for lists that want one without writing it.
func DefaultWelcome(lang string) string {
	if lang == "en" {
		return defaultWelcomeEN
	}
	return defaultWelcomeFR
}

const defaultWelcomeFR = `---
subject: Bienvenue : {{.List}}
---
Bonjour{{with .FirstName}} {{.}}{{end}},

Merci ! Vous êtes inscrit·e à « {{.List}} »{{with .Association}} de {{.}}{{end}}. Vous recevrez nos prochains messages à cette adresse.

Vous pouvez choisir ce que vous recevez, ou vous désinscrire, à tout moment avec les liens en bas de ce message.
`

const defaultWelcomeEN = `---
subject: "Welcome: {{.List}}"
---
Hello{{with .FirstName}} {{.}}{{end}},

Thank you! You are subscribed to “{{.List}}”{{with .Association}} from {{.}}{{end}}. Our next messages will come to this address.

You can choose what you receive, or unsubscribe, at any time with the links at the bottom of this message.
`

// SetListTemplates sets the list's own emails of a kind, one per language
// (the first is sent to people of other languages), after checking each
// as ParseTemplate does (a mistake is a *TemplateError naming its line);
// none removes them: a list then sends no welcome, and the package's
// confirmation email. It is audited.
func (n *Newsletter) SetListTemplates(ctx context.Context, list string, kind NoticeKind, tpls []ListTemplate) error {
	if kind != NoticeConfirm && kind != NoticeWelcome {
		return &crm.ValidationError{Field: "kind", Value: string(kind), Reason: "want confirm or welcome"}
	}
	seen := map[string]bool{}
	for i := range tpls {
		t := &tpls[i]
		t.Kind, t.Position = kind, i
		t.Language = strings.ToLower(strings.TrimSpace(t.Language))
		if t.Language == "" {
			t.Language = crm.DefaultLanguage
		}
		if seen[t.Language] {
			return &crm.ValidationError{Field: string(kind), Value: t.Language, Reason: "two templates for one language"}
		}
		seen[t.Language] = true
		if _, err := t.parse(); err != nil {
			return fmt.Errorf("%s template (%s): %w", kind, t.Language, err)
		}
	}
	return n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		l, err := tx.GetList(ctx, list)
		if err != nil {
			return err
		}
		idb := dbutil.Tx(tx)
		if _, err := idb.NewDelete().Model((*ListTemplate)(nil)).Where("list_id = ? AND kind = ?", l.ID, kind).
			Exec(ctx); err != nil {
			return fmt.Errorf("list templates: %w", err)
		}
		for i := range tpls {
			tpls[i].ListID = l.ID
		}
		if len(tpls) > 0 {
			if _, err := idb.NewInsert().Model(&tpls).Exec(ctx); err != nil {
				return fmt.Errorf("list templates: %w", err)
			}
		}
		what := "removed"
		if len(tpls) > 0 {
			langs := make([]string, len(tpls))
			for i, t := range tpls {
				langs[i] = t.Language
			}
			what = "set (" + strings.Join(langs, ", ") + ")"
		}
		return tx.Audit(ctx, "list "+string(kind)+" email "+what, "list "+l.Name)
	})
}

// ListTemplates returns the list's own emails, by kind then position.
func (n *Newsletter) ListTemplates(ctx context.Context, list string) ([]ListTemplate, error) {
	l, err := n.db.GetList(ctx, list)
	if err != nil {
		return nil, err
	}
	var out []ListTemplate
	if err := n.bun.NewSelect().Model(&out).Where("list_id = ?", l.ID).Order("kind", "position").Scan(ctx); err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	return out, nil
}

// listTemplate returns the list's own email of the kind in the language
// (else its first), parsed, or nil when it has none.
func (n *Newsletter) listTemplate(ctx context.Context, listID int64, kind NoticeKind, lang string) (*Template, error) {
	var ts []ListTemplate
	if err := n.bun.NewSelect().Model(&ts).Where("list_id = ? AND kind = ?", listID, kind).Order("position").
		Scan(ctx); err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	if len(ts) == 0 {
		return nil, nil
	}
	t := ts[0]
	if i := slices.IndexFunc(ts, func(t ListTemplate) bool { return t.Language == lang }); i >= 0 {
		t = ts[i]
	}
	tpl, err := t.parse()
	if err != nil {
		return nil, errors.Join(fmt.Errorf("stored %s template (%s)", kind, t.Language), err)
	}
	return tpl, nil
}
