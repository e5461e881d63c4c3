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
	if err := checkListTemplates(kind, tpls); err != nil {
		return err
	}
	return n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		l, err := tx.GetList(ctx, list)
		if err != nil {
			return err
		}
		return storeListTemplates(ctx, tx, l, kind, tpls)
	})
}

// EditListTemplates changes the list's own emails of a kind one language
// at a time: set adds or replaces the template of each of its languages,
// remove removes those of the languages named, and the others stay as
// they were, in their place (a language added goes last; the first is
// sent to people of other languages). Each template is checked as
// SetListTemplates does. It returns the list's templates of the kind as
// they are now, an error wrapping crm.ErrNotFound when a language to
// remove has none, and a *crm.ValidationError when a language is both
// set and removed; then nothing is changed. It is audited.
func (n *Newsletter) EditListTemplates(ctx context.Context, list string, kind NoticeKind, set []ListTemplate,
	remove []string) ([]ListTemplate, error) {
	if err := checkListTemplates(kind, set); err != nil {
		return nil, err
	}
	var out []ListTemplate
	err := n.db.RunInTx(ctx, func(tx *crm.Tx) error {
		out = out[:0]
		l, err := tx.GetList(ctx, list)
		if err != nil {
			return err
		}
		var cur []ListTemplate
		if err := dbutil.Tx(tx).NewSelect().Model(&cur).Where("list_id = ? AND kind = ?", l.ID, kind).Order("position").
			Scan(ctx); err != nil {
			return fmt.Errorf("list templates: %w", err)
		}
		for _, lang := range remove {
			lang = strings.ToLower(strings.TrimSpace(lang))
			if slices.ContainsFunc(set, func(t ListTemplate) bool { return t.Language == lang }) {
				return &crm.ValidationError{Field: string(kind), Value: lang, Reason: "both set and removed"}
			}
			i := slices.IndexFunc(cur, func(t ListTemplate) bool { return t.Language == lang })
			if i < 0 {
				return fmt.Errorf("list %s has no %s %s email: %w", l.Name, lang, kind, crm.ErrNotFound)
			}
			cur = slices.Delete(cur, i, i+1)
		}
		for _, t := range set {
			if i := slices.IndexFunc(cur, func(c ListTemplate) bool { return c.Language == t.Language }); i >= 0 {
				cur[i] = t
			} else {
				cur = append(cur, t)
			}
		}
		out = append(out, cur...)
		return storeListTemplates(ctx, tx, l, kind, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkListTemplates normalises the languages and positions of tpls and
// parses each.
func checkListTemplates(kind NoticeKind, tpls []ListTemplate) error {
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
	return nil
}

// storeListTemplates replaces the list's templates of the kind with tpls,
// in their order, and audits the change.
func storeListTemplates(ctx context.Context, tx *crm.Tx, l *crm.List, kind NoticeKind, tpls []ListTemplate) error {
	idb := dbutil.Tx(tx)
	if _, err := idb.NewDelete().Model((*ListTemplate)(nil)).Where("list_id = ? AND kind = ?", l.ID, kind).
		Exec(ctx); err != nil {
		return fmt.Errorf("list templates: %w", err)
	}
	for i := range tpls {
		tpls[i].ListID, tpls[i].Kind, tpls[i].Position = l.ID, kind, i
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

// ListEmail says which email of a kind a list sends to people of one
// language.
type ListEmail struct {
	Kind     NoticeKind `json:"kind"`
	Language string     `json:"language"`
	// Source is "custom" (the list's own template), "default" (the
	// package's text: DefaultWelcome, or the built-in confirmation) or
	// "none" (a list without a welcome email).
	Source string `json:"source"`
	// From is the language of the list's template sent to this one when
	// it has none of its own ("" when it has).
	From string `json:"from,omitempty"`
}

// ListEmails says, for the pages' languages (fr, en) and any other the
// list has a template in, which welcome and which confirmation email the
// list sends. It returns an error wrapping crm.ErrNotFound for no such
// list.
func (n *Newsletter) ListEmails(ctx context.Context, list string) ([]ListEmail, error) {
	tpls, err := n.ListTemplates(ctx, list)
	if err != nil {
		return nil, err
	}
	langs := []string{"fr", "en"}
	for _, t := range tpls {
		if !slices.Contains(langs, t.Language) {
			langs = append(langs, t.Language)
		}
	}
	var out []ListEmail
	for _, kind := range []NoticeKind{NoticeWelcome, NoticeConfirm} {
		var mine []ListTemplate
		for _, t := range tpls {
			if t.Kind == kind {
				mine = append(mine, t)
			}
		}
		for _, lang := range langs {
			e := ListEmail{Kind: kind, Language: lang}
			i := slices.IndexFunc(mine, func(t ListTemplate) bool { return t.Language == lang })
			switch {
			case len(mine) == 0 && kind == NoticeWelcome:
				e.Source = "none"
			case len(mine) == 0:
				e.Source = "default"
			default:
				if i < 0 {
					i, e.From = 0, mine[0].Language
				}
				e.Source = "custom"
				if kind == NoticeWelcome && mine[i].Source == DefaultWelcome(mine[i].Language) {
					e.Source = "default"
				}
			}
			out = append(out, e)
		}
	}
	return out, nil
}
