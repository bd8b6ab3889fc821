package io.kvmclock.restore;

import io.kvmclock.state.TscRatio;
import io.kvmclock.time.TscScaling;
import java.util.Optional;

/**
 * How a vCPU's TSC follows the host's: {@code guest = scale(host, ratio) + offset} (kvm_read_l1_tsc).
 * {@code scaling} null means unscaled.
 */
public record TscRate(TscScaling scaling, long ratio) {

    public static final TscRate UNSCALED = new TscRate(null, 0);

    /**
     * The rate KVM gives a vCPU set to {@code guestKhz} on a host at {@code hostKhz}: kvm_set_tsc_khz scales
     * only outside tsc_tolerance_ppm, with set_tsc_khz's ratio.
     */
    public static TscRate of(Optional<TscScaling> hardware, long guestKhz, long hostKhz) {
        if (hardware.isEmpty() || !TscScaling.needsScaling(guestKhz, hostKhz, TscScaling.TOLERANCE_PPM)) {
            return UNSCALED;
        }
        return new TscRate(hardware.get(), hardware.get().ratio(guestKhz, hostKhz));
    }

    /** The rate a saved vCPU ran at. */
    public static TscRate of(TscRatio saved) {
        return switch (saved) {
            case TscRatio.None n -> UNSCALED;
            case TscRatio.Hardware h -> new TscRate(h.scaling(), h.ratio());
        };
    }

    public TscRatio toState() {
        return scaling == null ? new TscRatio.None() : new TscRatio.Hardware(scaling, ratio);
    }

    public boolean scaled() {
        return scaling != null;
    }

    /** The guest TSC at host TSC {@code hostTsc} before the offset is added. */
    public long scale(long hostTsc) {
        return scaling == null ? hostTsc : scaling.scale(hostTsc, ratio);
    }
}
