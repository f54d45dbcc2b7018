namespace OnceHub.Webhooks;

/// <summary>How the receiver answered one delivery.</summary>
public enum ReceiveOutcome
{
    /// <summary>Not authentic (401), not readable as a request (413, 400), or over the unverified-body budget (503): nothing stored.</summary>
    Refused,
    /// <summary>Handed to the handler, which succeeded (200).</summary>
    Processed,
    /// <summary>An id settled before (200, not handled again).</summary>
    Duplicate,
    /// <summary>Another delivery of the id is being handled (409, so OnceHub retries it later).</summary>
    InFlight,
    /// <summary>A type the receiver does not know (200, recorded as ignored).</summary>
    Ignored,
    /// <summary>Stored in quarantine (200): unparseable, no usable id or type, or the handler failed too often.</summary>
    Quarantined,
    /// <summary>The handler failed (500, so OnceHub retries).</summary>
    HandlerFailed,
    /// <summary>Stale and skipped (200, recorded as <see cref="SettledAs.Skipped"/>): see <see cref="WebhookPipelineOptions.SkipStaleEvents"/>.</summary>
    Skipped,
}
