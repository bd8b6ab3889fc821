package io.kvmclock.state;

import io.kvmclock.hv.HostClocks;
import java.util.Objects;

/**
 * When and why the state was taken: one reading of the source host's clocks (host TSC, CLOCK_MONOTONIC_RAW,
 * CLOCK_REALTIME) right after KVM_GET_CLOCK. The TSC/realtime pair is what lets a restore recognise a
 * kexec on the same machine (see {@link ClockState#placementOn}).
 */
public record Capture(CaptureKind kind, HostClocks at) {
    public Capture {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(at, "at");
    }
}
