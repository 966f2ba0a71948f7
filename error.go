package pressluft

import (
	"errors"
	"fmt"
)

// Error codes. They are part of the API contract: clients and job records
// match on them, so they never change meaning once published.
const (
	EBadRequest          = "bad_request"
	EValidation          = "validation_failed"
	EUnauthorized        = "unauthorized"
	EInvalidCreds        = "invalid_credentials"
	EForbidden           = "forbidden"
	ENotFound            = "not_found"
	EConflict            = "conflict"
	ERateLimited         = "rate_limited"
	EUnprocessable       = "unprocessable"
	EInternal            = "internal"
	ENodeUnreachable     = "node_unreachable"
	ENodeNotActive       = "node_not_active"
	ENodeReachable       = "node_reachable" // forget refused: the node is not known to be gone; delete normally
	EHostKeyMismatch     = "host_key_mismatch"
	ESSHAuthFailed       = "ssh_auth_failed"
	EJobNotCancellable   = "job_not_cancellable"
	EResourceNotFailed   = "resource_not_failed"
	EResetValidation     = "reset_validation_failed"
	EResourceBusy        = "resource_busy"
	ESourceMismatch      = "source_environment_mismatch"
	EAnsibleHostFailed   = "ansible_host_failed"
	EAnsibleSyntax       = "ansible_syntax_error"
	EAnsibleFailed       = "ansible_failed"
	EJobTimeout          = "job_timeout"
	EJobCancelled        = "job_cancelled"
	EWorkerLost          = "worker_lost"
	EHealthCheckFailed   = "health_check_failed"
	EWPError             = "wp_error"
	ENotImplemented      = "not_implemented"
	EAgentUnavailable    = "agent_unavailable" // this build carries no agent for the node's architecture
	EUnsupportedArch     = "unsupported_arch"
	EAgentFailed         = "agent_failed"    // the agent broke its protocol or refused a request
	EAgentLost           = "agent_lost"      // the agent died without an answer (killed, out of memory)
	EEnvLocked           = "env_locked"      // another operation holds the environment on its node
	EConfigRejected      = "config_rejected" // nginx or PHP-FPM refused a config; the previous one is back
	ECommandFailed       = "command_failed"  // a program run on the node failed
	EChecksumMismatch    = "checksum_mismatch"
	EInsufficientSpace   = "insufficient_space"  // the node lacks room for the work plus a margin; nothing was written
	EOffsiteAuth         = "offsite_auth_failed" // the offsite target refused the credentials
	EOffsiteUnreachable  = "offsite_unreachable" // the offsite target did not answer
	EOffsiteFailed       = "offsite_failed"      // the offsite target answered, but the transfer or its check failed
	EUnsafeArchive       = "unsafe_archive"      // an archive or manifest names paths outside its place, links out, or devices
	EBackupInUse         = "backup_in_use"       // a queued or running restore uses the backup
	EBackupUnavailable   = "backup_unavailable"  // neither the node nor the offsite target holds the backup
	ERangeNotSatisfiable = "range_not_satisfiable"
	ESnapshotUnavailable = "snapshot_unavailable" // the database snapshot a rollback asked for is gone
	EGitRefNotFound      = "git_ref_not_found"    // the repository has no such branch, tag or commit
	EGitUnreachable      = "git_unreachable"      // the repository's host did not answer, or serves no such repository
	EGitAuthFailed       = "git_auth_failed"      // the repository refused the deploy key, or its host key changed
	EArchiveTooLarge     = "archive_too_large"    // a download or its unpacked content is larger than the limit
	EWPContentMissing    = "wp_content_missing"   // a deploy's repository or archive has no wp-content/ at its root
	EAddressNotAllowed   = "address_not_allowed"  // a URL leads to a private, loopback or link-local address the settings do not allow
	EDownloadFailed      = "download_failed"      // an archive or package URL did not deliver the whole file
	EUpdateUnavailable   = "update_unavailable"   // no package URL was given and wordpress.org cannot be asked
	EUpdateFailed        = "update_failed"        // WordPress's upgrader failed; nothing was switched
	EDriftNotClean       = "drift_not_clean"      // the latest drift check is not clean, or older than 15 minutes
	EBackupNotFresh      = "backup_not_fresh"     // the promotion's target has no completed full backup from the last 60 minutes
	EBaselineMissing     = "baseline_missing"     // the environment has no record of its source at copy time
	EPromotionInvalid    = "promotion_invalid"    // a promotion from production, to itself, or to another site's environment
)

// Error codes of request bodies a route takes whole (an uploaded archive).
const (
	ELengthRequired   = "length_required"        // the body came without Content-Length
	EUnsupportedMedia = "unsupported_media_type" // the body's Content-Type is not one the route takes
)

// Error is the one error type of the project. Code is stable; Message is
// safe to show to a user; Details carries field-level information.
type Error struct {
	Code    string
	Message string
	Details map[string]any
	// Untouched is set on an error that happened before anything ran on a
	// node (no connection, no session): a job failing with it leaves its
	// resource as it was instead of marking it failed.
	Untouched bool
	// RolledBack is set on an error after which the job put back what it
	// had changed (a restore whose health check failed): the resource
	// returns to its status before the job instead of failed.
	RolledBack bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("pressluft error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError is a validation failure naming the offending field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{
		Code:    EValidation,
		Message: fmt.Sprintf(format, args...),
		Details: map[string]any{"field": field},
	}
}

// ErrorCode returns the code of err, EInternal for errors that are not ours,
// and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the user-facing message of err. Internal errors get a
// generic message so that no internals leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// ErrorDetails returns the details of err, if any.
func ErrorDetails(err error) map[string]any {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// IsUntouched reports whether err happened before anything ran on a node.
func IsUntouched(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Untouched
}

// IsRolledBack reports whether the job undid its change before failing with err.
func IsRolledBack(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.RolledBack
}

// IsTransient reports whether a job that failed with err may succeed when
// retried later without any change of input.
func IsTransient(err error) bool {
	switch ErrorCode(err) {
	case ENodeUnreachable, EWorkerLost, EResourceBusy, EEnvLocked, EAgentLost, EOffsiteUnreachable:
		return true
	}
	return false
}
