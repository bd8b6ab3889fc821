package io.kvmclock.sim;

/**
 * How long the modelled kernel paths take, each advancing the host time line: {@code ioctl} before any
 * ioctl acts, {@code setClockGap} inside KVM_SET_CLOCK between the new master clock reference and the
 * CLOCK_REALTIME read, {@code vcpuEntry} before each KVM_RUN reaches the guest.
 */
public record Latency(Distribution ioctl, Distribution setClockGap, Distribution vcpuEntry) {

    public static Latency none() {
        return new Latency(Distribution.ZERO, Distribution.ZERO, Distribution.ZERO);
    }

    /**
     * Orders of magnitude seen on real hosts (facts page section 7: the KVM_SET_CLOCK systematic delay
     * 60-90 ns). Not fitted to this Intel machine yet; fit with {@link Distribution#fit}.
     */
    public static Latency typical() {
        return new Latency(new Distribution.Uniform(400, 200), new Distribution.Uniform(75, 15),
                new Distribution.Uniform(1500, 500));
    }
}
