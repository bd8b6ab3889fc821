package io.kvmclock.state;

/** Why the state was captured. Restore decides for itself what it is doing: see {@link ClockState#placementOn}. */
public enum CaptureKind {
    /** A VMM saving a guest it is about to hand to its own successor on this host. */
    LIVE_UPDATE(1),
    /** A VMM saving a guest to send to another host. */
    MIGRATION(2),
    /** A snapshot kept for a later restore, anywhere. */
    SNAPSHOT(3),
    /** Made up by {@code kvmclock state sample}: realistic numbers, no real guest behind them. */
    SYNTHETIC(4);

    private final int code;

    CaptureKind(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    static CaptureKind ofCode(int code) {
        for (CaptureKind k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        throw new StateFormatException(StateFormatException.Reason.UNKNOWN_CODE,
                "capture kind code " + code + " is unknown (1 live update, 2 migration, 3 snapshot, 4 synthetic)");
    }
}
