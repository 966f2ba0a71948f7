package http_test

import (
	"os"
	"slices"
	"testing"

	"github.com/pressluft/pressluft"
	"go.yaml.in/yaml/v3"
)

// TestOpenAPI_JobTypesAreTheKinds fails when the contract's job types drift
// from the job kinds the engine knows.
func TestOpenAPI_JobTypesAreTheKinds(t *testing.T) {
	t.Parallel()
	body, err := os.ReadFile("../openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas struct {
				Job struct {
					Properties struct {
						Type struct {
							Enum []string `yaml:"enum"`
						} `yaml:"type"`
					} `yaml:"properties"`
				} `yaml:"Job"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	documented := doc.Components.Schemas.Job.Properties.Type.Enum
	var kinds []string
	for _, k := range pressluft.JobKinds() {
		kinds = append(kinds, k.Type)
	}
	slices.Sort(documented)
	slices.Sort(kinds)
	if !slices.Equal(documented, kinds) {
		t.Fatalf("openapi.yaml Job.type lists %v, the engine knows %v", documented, kinds)
	}
}
