package servers

import (
	"slices"
	"strings"
	"testing"
)

// TestSettingsOneOwner: every tunable the catalogue lists is a setting
// with a spelling and a help text, and each setting's help names exactly
// the models whose tunables list it.
func TestSettingsOneOwner(t *testing.T) {
	for _, m := range Models() {
		for _, name := range m.Tunables {
			if !slices.Contains(settingNames, name) || settingDocs[name] == "" {
				t.Errorf("%s's tunable %q has no spelling or help", m.Name, name)
			}
			if !strings.Contains(SettingHelp(name), m.Name) {
				t.Errorf("help of %s: %q does not name %s", name, SettingHelp(name), m.Name)
			}
		}
	}
	for _, name := range settingNames {
		if settingDocs[name] == "" {
			t.Errorf("setting %s has no help", name)
		}
	}
}

// TestAvailableInCatalogue: every model this OS lists is the catalogue's
// entry (model() found it), not the placeholder for a missing name.
func TestAvailableInCatalogue(t *testing.T) {
	for _, v := range variants() {
		if _, ok := ModelNamed(v.Name); !ok || strings.Contains(v.Summary, "missing from the catalogue") {
			t.Errorf("%s is listed for this OS but not in Models()", v.Name)
		}
	}
}
