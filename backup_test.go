package pressluft_test

import (
	"testing"
	"time"

	"github.com/pressluft/pressluft"
)

func TestBackupSchedule_NextRun(t *testing.T) {
	t.Parallel()
	berlin, _ := time.LoadLocation("Europe/Berlin")
	at := func(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
		return time.Date(y, m, d, h, min, 0, 0, loc)
	}
	for _, tc := range []struct {
		name string
		s    pressluft.BackupSchedule
		now  time.Time
		want time.Time
	}{
		{"hourly, later this hour", pressluft.BackupSchedule{Frequency: "hourly", Minute: 30, Timezone: "UTC"}, at(time.UTC, 2026, 3, 1, 10, 5), at(time.UTC, 2026, 3, 1, 10, 30)},
		{"hourly, exactly on time is the next one", pressluft.BackupSchedule{Frequency: "hourly", Minute: 30, Timezone: "UTC"}, at(time.UTC, 2026, 3, 1, 10, 30), at(time.UTC, 2026, 3, 1, 11, 30)},
		{"daily, tomorrow", pressluft.BackupSchedule{Frequency: "daily", Hour: 3, Minute: 0, Timezone: "UTC"}, at(time.UTC, 2026, 3, 1, 10, 0), at(time.UTC, 2026, 3, 2, 3, 0)},
		{"daily in Berlin across the spring change keeps 03:30 local", pressluft.BackupSchedule{Frequency: "daily", Hour: 3, Minute: 30, Timezone: "Europe/Berlin"},
			at(berlin, 2026, 3, 28, 12, 0), at(berlin, 2026, 3, 29, 3, 30)},
		{"weekly on Monday", pressluft.BackupSchedule{Frequency: "weekly", Weekday: 1, Hour: 2, Timezone: "UTC"}, at(time.UTC, 2026, 11, 29, 12, 0), at(time.UTC, 2026, 11, 30, 2, 0)},
		{"weekly, today but passed: next week", pressluft.BackupSchedule{Frequency: "weekly", Weekday: 0, Hour: 2, Timezone: "UTC"}, at(time.UTC, 2026, 11, 29, 12, 0), at(time.UTC, 2026, 12, 6, 2, 0)},
	} {
		if got := tc.s.NextRun(tc.now); !got.Equal(tc.want) {
			t.Errorf("%s: NextRun(%v) = %v, want %v", tc.name, tc.now, got, tc.want.UTC())
		}
	}
}

func TestBackupValidation(t *testing.T) {
	t.Parallel()
	secret := "SECRET"
	for _, u := range []pressluft.OffsiteUpdate{
		{Endpoint: "s3.example.com/path", Bucket: "backups", AccessKey: "AK", SecretKey: &secret},
		{Endpoint: "s3.example.com", Bucket: "Backups", AccessKey: "AK", SecretKey: &secret},
		{Endpoint: "s3.example.com", Bucket: "backups", Prefix: "a/../b", AccessKey: "AK", SecretKey: &secret},
		{Endpoint: "s3.example.com", Bucket: "backups", AccessKey: "A K", SecretKey: &secret},
		{Endpoint: "s3.example.com", Bucket: "backups", AccessKey: "AK", KeepLocal: -1},
	} {
		if err := u.Validate(); pressluft.ErrorCode(err) != pressluft.EValidation {
			t.Errorf("%+v accepted", u)
		}
	}
	ok := pressluft.OffsiteUpdate{Endpoint: " S3.Example.com:9000 ", Bucket: "backups", Prefix: "/agency/prod/", AccessKey: "AK"}
	if err := ok.Validate(); err != nil || ok.Endpoint != "s3.example.com:9000" || ok.Prefix != "agency/prod" {
		t.Errorf("good target: %+v %v", ok, err)
	}
	if k := pressluft.OffsiteKey(&pressluft.OffsiteTarget{Prefix: "agency"}, "acme", "acme-production", "b1"); k != "agency/acme/acme-production/b1" {
		t.Errorf("offsite key %q", k)
	}
}
