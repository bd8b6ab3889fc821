package io.kvmclock.restore;

import io.kvmclock.state.ClockState;
import io.kvmclock.state.GuestPvclock;
import io.kvmclock.time.PvclockTimeInfo;

/** Reading a saved state the way restore methods (and their measurement) need it. */
public final class Saved {
    private Saved() {}

    /** vCPU {@code index}'s saved pvclock; a restore that needs it cannot proceed without it. */
    public static PvclockTimeInfo pvclock(ClockState saved, int index) {
        return switch (saved.vcpus().get(index).pvclock()) {
            case GuestPvclock.Captured c -> c.pvclock();
            case GuestPvclock.NotEnabled n -> throw new RestoreFailedException("vCPU " + saved.vcpus().get(index).id()
                    + " had not enabled kvmclock when it was saved: there is no pvclock function to restore");
        };
    }
}
