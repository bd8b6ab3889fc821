package io.kvmclock.restore;

import java.util.Locale;

/** What the guest's clocks do across the blackout. */
public enum DowntimePolicy {
    /** The clocks include the blackout, as on real hardware that kept running. */
    ADVANCE,
    /** The clocks pause for the blackout: the guest resumes where it stopped. */
    FREEZE;

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
