package io.kvmclock.sim;

import io.kvmclock.hv.HostClocks;
import io.kvmclock.time.Clocksource;
import io.kvmclock.time.U128;
import java.math.BigInteger;

/**
 * A host's hardware and kernel clocks on the shared time line. The TSC counts at its true frequency from
 * the moment the host joins; a kexec keeps the TSC and starts a new kernel: a new calibrated tsc_khz, a
 * new clocksource mult/shift and a raw clock counting from its new boot.
 *
 * <p>CLOCK_MONOTONIC_RAW is {@code rawAtBoot + ((tsc - tscAtBoot) * mult) >> shift} over 128 bits: the
 * timekeeper accumulates whole ticks and carries the shifted remainder (timekeeping_advance), which sums
 * to this floor. CLOCK_REALTIME is modelled as the true time plus an offset that NTP steps and slews.
 */
public final class SimHost {
    private static final long NS_PER_S = 1_000_000_000L;

    final SimWorld world;
    final SimHostConfig config;
    private final long joinedAt;

    private long tscKhz;
    private Clocksource clocksource;
    private long tscAtBoot;
    private long rawAtBoot;
    private long cachedMult;
    private int cachedShift;

    private long rtAnchorT;
    private long rtAnchorValue;
    private long slewPpb;
    private long slewEndT;

    SimHost(SimWorld world, SimHostConfig config) {
        this.world = world;
        this.config = config;
        this.joinedAt = world.now();
        this.rtAnchorT = joinedAt;
        this.rtAnchorValue = config.realtimeAtStartNs();
        boot(config.tscKhz(), config.rawAtStartNs());
    }

    /** A new kernel on the same hardware (kexec): new calibration, raw clock from {@code rawNs}. */
    void boot(long newTscKhz, long rawNs) {
        this.tscKhz = newTscKhz;
        this.clocksource = Clocksource.forTscKhz(newTscKhz);
        this.cachedMult = clocksource.mult();
        this.cachedShift = clocksource.shift();
        this.tscAtBoot = tsc();
        this.rawAtBoot = rawNs;
    }

    public SimHostConfig config() {
        return config;
    }

    public long tscKhz() {
        return tscKhz;
    }

    public Clocksource clocksource() {
        return clocksource;
    }

    /** The true time line, ns. */
    public long trueNs() {
        return world.now();
    }

    /** The host TSC now: tscAtStart + floor(elapsed * hz / 1e9), allocation-free. */
    public long tsc() {
        long t = world.now() - joinedAt;
        long hz = config.tscHz();
        return config.tscAtStart() + (t / NS_PER_S) * hz + (t % NS_PER_S) * hz / NS_PER_S;
    }

    public long rawAt(long tsc) {
        return rawAtBoot + U128.mulShr(tsc - tscAtBoot, cachedMult, cachedShift);
    }

    /** get_kvmclock_base_ns at host TSC {@code tsc}: raw plus offs_boot. */
    long kvmclockBaseAt(long tsc) {
        return rawAt(tsc) + config.bootOffsetNs();
    }

    public long realtimeNs() {
        long t = world.now();
        long dt = t - rtAnchorT;
        long slewed = Math.min(t, slewEndT) - rtAnchorT;
        long adj = slewed <= 0 || slewPpb == 0 ? 0
                : BigInteger.valueOf(slewed).multiply(BigInteger.valueOf(slewPpb))
                        .divide(BigInteger.valueOf(NS_PER_S)).longValueExact();
        return rtAnchorValue + dt + adj;
    }

    /** settimeofday / an NTP step: CLOCK_REALTIME jumps by {@code ns}. */
    public void stepRealtime(long ns) {
        reanchor();
        rtAnchorValue += ns;
    }

    /** adjtimex slew: CLOCK_REALTIME runs {@code ppb} fast (negative: slow) for {@code durationNs}. */
    public void slewRealtime(long ppb, long durationNs) {
        if (Math.abs(ppb) > 500_000) {
            throw new IllegalArgumentException("NTP slews at most 500 ppm, got " + ppb + " ppb");
        }
        reanchor();
        slewPpb = ppb;
        slewEndT = world.now() + durationNs;
    }

    private void reanchor() {
        rtAnchorValue = realtimeNs();
        rtAnchorT = world.now();
    }

    public HostClocks readClocks() {
        long tsc = tsc();
        return new HostClocks(tsc, rawAt(tsc), realtimeNs());
    }
}
