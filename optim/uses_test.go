package optim

import (
	"strings"
	"testing"
)

// Uses tells exactly which fields New accepts for each optimizer.
func TestUses(t *testing.T) {
	set := map[string]func(*Config){
		"LR":          func(c *Config) { c.LR = 0.1 },
		"Beta1":       func(c *Config) { c.Beta1 = 0.5 },
		"Beta2":       func(c *Config) { c.Beta2 = 0.5 },
		"Alpha":       func(c *Config) { c.Alpha = 0.5 },
		"Eps":         func(c *Config) { c.Eps = 1e-7 },
		"Momentum":    func(c *Config) { c.Momentum = 0.5 },
		"Nesterov":    func(c *Config) { c.Nesterov = true }, // sgd refuses it without Momentum, for another reason
		"WeightDecay": func(c *Config) { c.WeightDecay = 0.1 },
	}
	for _, name := range Names() {
		for field, edit := range set {
			var c Config
			edit(&c)
			_, err := New(name, nil, c)
			refused := err != nil && strings.Contains(err.Error(), "does not use "+field)
			if refused == Uses(name, field) || err != nil && !refused && field != "Nesterov" {
				t.Errorf("%s, %s: Uses %v, New: %v", name, field, Uses(name, field), err)
			}
		}
	}
	if Uses("adagrad", "LR") || Uses("adagrad", "Eps") {
		t.Error("an unknown optimizer uses fields")
	}
}
