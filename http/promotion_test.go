package http_test

import (
	"context"
	"testing"

	"github.com/pressluft/pressluft"
)

// fakePromoteOps answers the tables an environment has.
type fakePromoteOps struct{}

func (fakePromoteOps) EnvState(context.Context, *pressluft.Node, pressluft.EnvSpec, pressluft.Progress) (*pressluft.EnvState, error) {
	return &pressluft.EnvState{Tables: map[string]string{"wp_options": "1", "wp_posts": "2", "wp_orders": "3"}}, nil
}

func (fakePromoteOps) PromoteDatabase(context.Context, *pressluft.Node, pressluft.EnvSpec, pressluft.EnvSpec, []string, string, pressluft.Progress) (*pressluft.PromoteFacts, error) {
	panic("not used by the API")
}

func TestAPI_Promotion(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	c := ts.loggedIn(t)
	siteID, prodID := activeSite(t, ts, c, "prm5")
	_, otherProd := activeSite(t, ts, c, "oth6")

	// A protected table that does not exist in the source is refused at
	// creation; a pattern or an existing one is taken.
	c.expect("POST", "/api/sites/"+siteID+"/environments", `{"name":"S","slug":"stg","type":"staging","source_environment_id":"`+prodID+
		`","protected_tables":["wp_nope"]}`, 400, pressluft.EValidation)
	created := c.expect("POST", "/api/sites/"+siteID+"/environments", `{"name":"S","slug":"stg","type":"staging","source_environment_id":"`+prodID+
		`","protected_tables":["orders","log_*"]}`, 202, "")
	stgID := created["environment_id"].(string)
	finishJob(t, ts, created["job_id"].(string), &pressluft.JobDone{EnvironmentStatus: pressluft.StatusActive,
		Baseline: &pressluft.Baseline{EnvironmentID: stgID, SourceEnvironmentID: prodID, State: &pressluft.EnvState{}}})
	stg := "/api/environments/" + stgID
	if e := c.expect("GET", stg, "", 200, ""); e["promotion_preset"] != pressluft.PresetContent || len(e["protected_tables"].([]any)) != 2 {
		t.Fatalf("staging = %v", e)
	}

	c.expect("PUT", stg+"/promotion", `{"promotion_preset":"custom","protected_tables":["wp_missing"]}`, 400, pressluft.EValidation)
	c.expect("PUT", stg+"/promotion", `{"promotion_preset":"everything"}`, 400, pressluft.EValidation)
	if e := c.expect("PUT", stg+"/promotion", `{"promotion_preset":"commerce-protect","protected_tables":["wp_orders"]}`, 200, ""); e["promotion_preset"] != "commerce-protect" {
		t.Fatalf("after PUT: %v", e)
	}
	g := c.expect("GET", stg+"/promotion", "", 200, "")
	if g["target_environment_id"] != prodID || g["drift"].(map[string]any)["code"] != pressluft.EDriftNotClean ||
		g["backup"].(map[string]any)["code"] != pressluft.EBackupNotFresh {
		t.Fatalf("gates = %v", g)
	}
	c.expect("GET", "/api/environments/"+prodID+"/promotion", "", 422, pressluft.EPromotionInvalid)

	c.expect("POST", stg+"/promote", `{"target_environment_id":"`+prodID+`","backup_first":true}`, 409, pressluft.EDriftNotClean)
	c.expect("POST", stg+"/promote", `{"target_environment_id":"`+otherProd+`","backup_first":true}`, 422, pressluft.EPromotionInvalid)
	c.expect("POST", stg+"/promote", `{"target_environment_id":"`+stgID+`","backup_first":true}`, 422, pressluft.EPromotionInvalid)
	c.expect("POST", "/api/environments/"+prodID+"/promote", `{"target_environment_id":"`+stgID+`"}`, 422, pressluft.EPromotionInvalid)
	c.expect("POST", stg+"/promote", `{"target_environment_id":"not-an-id"}`, 400, pressluft.EValidation)
	c.expect("POST", "/api/environments/"+prodID+"/drift-check", "", 422, pressluft.EPromotionInvalid)

	acc := c.expect("POST", stg+"/drift-check", "", 202, "")
	if again := c.expect("POST", stg+"/drift-check", "", 202, ""); again["job_id"] != acc["job_id"] {
		t.Fatalf("a second drift check while one is queued = %v, want %v", again, acc)
	}
	finishJob(t, ts, acc["job_id"].(string), &pressluft.JobDone{DriftCheck: &pressluft.DriftCheck{EnvironmentID: stgID, SourceEnvironmentID: prodID,
		JobID: acc["job_id"].(string), Result: pressluft.DriftClean, Changes: []pressluft.DriftChange{}}})
	list := c.expect("GET", stg+"/drift-checks", "", 200, "")["items"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["result"] != "clean" {
		t.Fatalf("drift checks = %v", list)
	}
	promoted := c.expect("POST", stg+"/promote", `{"target_environment_id":"`+prodID+`","backup_first":true}`, 202, "")
	if e := c.expect("GET", "/api/environments/"+prodID, "", 200, ""); e["status"] != pressluft.StatusPromoting || promoted["environment_id"] != prodID {
		t.Fatalf("target = %v; accepted %v", e, promoted)
	}
	c.expect("POST", stg+"/promote", `{"target_environment_id":"`+prodID+`","backup_first":true}`, 409, pressluft.EConflict)
}
