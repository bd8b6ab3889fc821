package io.kvmclock.sim;

import io.kvmclock.hv.HostProfile;
import io.kvmclock.time.TscScaling;
import java.util.Optional;

/**
 * One modelled host: its TSC hardware, its kernel's calibration and clocks, and KVM's capabilities and
 * module parameters.
 *
 * @param name            a label for reports
 * @param tscKhz          the kernel's calibrated tsc_khz (clocksource and KVM use it)
 * @param tscHz           the TSC's true frequency against the time line (may differ from tscKhz * 1000)
 * @param tscAtStart      the host TSC when this host joins the time line
 * @param rawAtStartNs    CLOCK_MONOTONIC_RAW then (time since boot)
 * @param bootOffsetNs    offs_boot (time spent suspended), added by get_kvmclock_base_ns
 * @param realtimeAtStartNs CLOCK_REALTIME then; a wall-clock sync error between hosts is just a different value
 * @param tscScaling      KVM_CAP_TSC_CONTROL with the vendor's ratio format, or empty (no scaling)
 * @param vmTscControl    KVM_CAP_VM_TSC_CONTROL (VM-scope KVM_SET_TSC_KHZ)
 * @param clockGuest      whether the proposed KVM_[GS]ET_CLOCK_GUEST exist
 * @param tscWritesIgnored the kvm_pvm vendor module (PVM, a nested KVM): the guest runs RDTSC
 *                        natively, so a host KVM_SET_DEVICE_ATTR(TSC_OFFSET) succeeds but leaves the offset at 0
 *                        (KVM's generation tracking still runs, so a new offset value still takes a new master
 *                        clock reference) and a host IA32_TSC write succeeds and changes nothing at all
 * @param tscClocksource  host clocksource is TSC (a condition of the master clock)
 * @param hotplugForcesMasterclockUpdate the kvm_track_tsc_matching rule before "Don't unnecessarily force
 *                        masterclock update on vCPU hotplug" (false = 6.18)
 * @param kvmclockPeriodicSync the kvmclock_periodic_sync module parameter (6.18: true, every 300 s)
 * @param masterclockSyncPeriodS the proposed masterclock_sync_period parameter (docs/kvm-clock.md, "Drift"; 0 = off)
 * @param maxVcpus        KVM_MAX_VCPUS
 * @param latency         modelled ioctl latencies
 * @param kernel          the uname release reported in HostInfo
 * @param v6Series        KVM as the "Cleaning up the KVM clock mess" v6 series leaves it (docs/v6-series.md):
 *                        KVM_VCPU_TSC_SCALE, the v6 KVM_[GS]ET_CLOCK_GUEST checks, a master clock that needs
 *                        matching TSC frequencies only, and the v6 rules for when a vCPU takes a clock update;
 *                        false is 6.18 (with the v5 CLOCK_GUEST ioctls where {@code clockGuest} is set)
 */
public record SimHostConfig(String name, long tscKhz, long tscHz, long tscAtStart, long rawAtStartNs,
                            long bootOffsetNs, long realtimeAtStartNs, Optional<TscScaling> tscScaling,
                            boolean vmTscControl, boolean clockGuest, boolean tscWritesIgnored, boolean tscClocksource,
                            boolean hotplugForcesMasterclockUpdate, boolean kvmclockPeriodicSync,
                            long masterclockSyncPeriodS, int maxVcpus, Latency latency, String kernel,
                            boolean v6Series) {

    /** 2026-11-21T00:00:00Z. */
    public static final long DEFAULT_REALTIME_NS = 1_795_219_200_000_000_000L;
    public static final long MAX_TSC_HZ = 9_000_000_000L;

    public SimHostConfig {
        if (tscKhz <= 0 || tscKhz > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("host tsc_khz must be 1..4294967295, got " + tscKhz);
        }
        if (tscHz <= 0 || tscHz > MAX_TSC_HZ) {
            throw new IllegalArgumentException("host TSC frequency must be 1 Hz..9 GHz, got " + tscHz + " Hz");
        }
        if (rawAtStartNs < 0 || bootOffsetNs < 0 || masterclockSyncPeriodS < 0 || maxVcpus < 1) {
            throw new IllegalArgumentException("host clock values and periods must not be negative");
        }
    }

    /** A 6.18 host (no v6 series): the presets below were written before the series existed. */
    public SimHostConfig(String name, long tscKhz, long tscHz, long tscAtStart, long rawAtStartNs,
                         long bootOffsetNs, long realtimeAtStartNs, Optional<TscScaling> tscScaling,
                         boolean vmTscControl, boolean clockGuest, boolean tscWritesIgnored, boolean tscClocksource,
                         boolean hotplugForcesMasterclockUpdate, boolean kvmclockPeriodicSync,
                         long masterclockSyncPeriodS, int maxVcpus, Latency latency, String kernel) {
        this(name, tscKhz, tscHz, tscAtStart, rawAtStartNs, bootOffsetNs, realtimeAtStartNs, tscScaling, vmTscControl,
                clockGuest, tscWritesIgnored, tscClocksource, hotplugForcesMasterclockUpdate, kvmclockPeriodicSync,
                masterclockSyncPeriodS, maxVcpus, latency, kernel, false);
    }

    /**
     * The host this project was first developed on, as probed and measured in November 2026: Intel Xeon, kernel
     * 6.18, nested KVM with the kvm_pvm vendor module, clocksource tsc, tsc_khz 2100000, no TSC scaling, no
     * CLOCK_GUEST ioctls, an hour of uptime, ioctl latencies as fitted there ({@link Latency#pvmIntel202611}).
     * The true TSC frequency is taken equal to the calibration (not measured). What kvm_pvm does with TSC writes
     * and when the master clock engages is in docs/kvm-clock.md ("kvm_pvm").
     */
    public static SimHostConfig pvmIntel202611() {
        long khz = 2_100_000L;
        return new SimHostConfig("pvm-intel-2026-11", khz, khz * 1000, 3_600L * khz * 1000 + 123_456_789L,
                3_600_000_000_000L, 0, DEFAULT_REALTIME_NS, Optional.empty(), true, false, true, true, false, true,
                0, 1024, Latency.pvmIntel202611(), "6.18.44-sim");
    }

    /**
     * The AMD EPYC kvm_pvm host of November 2026 (kernel 6.18, tsc_khz 2596138) where the kernel checks in
     * docs/kvm-clock.md were taken (its pvclock mul/shift, clocksource mult/shift, the -1535 ns step of a TSC
     * offset write); otherwise as {@link #pvmIntel202611()}, whose latencies it borrows.
     */
    public static SimHostConfig pvmAmd202611() {
        return pvmIntel202611().withName("pvm-amd-2026-11").withTsc(2_596_138, 2_596_138_000L);
    }

    /** The old name of {@link #pvmIntel202611()}: a recorded host, not the machine this runs on. */
    @Deprecated
    public static SimHostConfig thisMachine() {
        return pvmIntel202611();
    }

    /**
     * The recorded Intel host as it would be on bare metal with kvm_intel instead of kvm_pvm: TSC offset and
     * IA32_TSC writes honoured; no TSC scaling, no CLOCK_GUEST. Also the typical host the model stands for where
     * /dev/kvm is missing ({@link #typical()}).
     */
    public static SimHostConfig kvmIntel() {
        return pvmIntel202611().withName("kvm-intel").withTscWritesIgnored(false);
    }

    /**
     * A bare-metal AMD host with kvm_amd: TSC writes honoured, SVM TSC scaling (32 fractional bits), no
     * CLOCK_GUEST; the recorded host's latencies at an EPYC-like 2.45 GHz.
     */
    public static SimHostConfig kvmAmd() {
        return kvmIntel().withName("kvm-amd").withTsc(2_450_000, 2_450_000_000L).withScaling(Optional.of(TscScaling.SVM));
    }

    /**
     * What the model stands for where there is no /dev/kvm to calibrate against: {@link #kvmIntel()}, a
     * bare-metal Intel host with kvm_intel at 2.1 GHz (documented in docs/model.md, "The typical host").
     */
    public static SimHostConfig typical() {
        return kvmIntel().withName("typical");
    }

    /**
     * kvm-intel with VMX TSC scaling and the proposed KVM_[GS]ET_CLOCK_GUEST (the v5/v6 series): what the
     * clock-guest restore method needs. Same latencies as the recorded host.
     */
    public static SimHostConfig clockGuestHost() {
        return kvmIntel().withName("clock-guest").withScaling(Optional.of(TscScaling.VMX)).withClockGuest(true);
    }

    /**
     * The model of a probed host: its tsc_khz (taken as the true frequency too), clocksource, scaling, CLOCK_GUEST,
     * whether it honours TSC writes and its kernel, with {@code latency} fitted there; an hour of uptime and the
     * 6.18 rules (no forced master clock update on hotplug, the periodic sync on).
     */
    public static SimHostConfig of(String name, HostProfile p, Latency latency) {
        return new SimHostConfig(name, p.tscKhz(), p.tscKhz() * 1000, 3_600L * p.tscKhz() * 1000 + 123_456_789L,
                3_600_000_000_000L, 0, DEFAULT_REALTIME_NS, p.tscScaling(), p.vmTscControl(), p.clockGuest(),
                !p.tscOffsetHonoured(), p.clocksource().equals("tsc"), false, true, 0, 1024, latency, p.kernel());
    }

    /**
     * The clock-guest host with the v6 series applied (docs/v6-series.md): kvm_intel, VMX TSC scaling,
     * KVM_VCPU_TSC_SCALE, the v6 CLOCK_GUEST checks, the master clock on with per-vCPU TSC offsets.
     */
    public static SimHostConfig v6Host() {
        return clockGuestHost().withName("v6").withKernel("6.18.44-v6-sim").withV6Series(true);
    }

    /** A host with a given calibrated and true frequency, VMX scaling and the CLOCK_GUEST ioctls, no latency. */
    public static SimHostConfig ideal(long tscKhz) {
        return clockGuestHost().withName("ideal-" + tscKhz).withTsc(tscKhz, tscKhz * 1000).withLatency(Latency.none());
    }

    public SimHostConfig withName(String n) {
        return edit(e -> e.name = n);
    }

    public SimHostConfig withTsc(long khz, long hz) {
        return edit(e -> { e.tscKhz = khz; e.tscHz = hz; });
    }

    public SimHostConfig withTscAtStart(long tsc) {
        return edit(e -> e.tscAtStart = tsc);
    }

    public SimHostConfig withRawAtStart(long rawNs) {
        return edit(e -> e.rawAtStartNs = rawNs);
    }

    public SimHostConfig withRealtimeAtStart(long ns) {
        return edit(e -> e.realtimeAtStartNs = ns);
    }

    public SimHostConfig withScaling(Optional<TscScaling> s) {
        return edit(e -> e.tscScaling = s);
    }

    public SimHostConfig withVmTscControl(boolean on) {
        return edit(e -> e.vmTscControl = on);
    }

    public SimHostConfig withClockGuest(boolean on) {
        return edit(e -> e.clockGuest = on);
    }

    public SimHostConfig withTscWritesIgnored(boolean on) {
        return edit(e -> e.tscWritesIgnored = on);
    }

    public SimHostConfig withTscClocksource(boolean on) {
        return edit(e -> e.tscClocksource = on);
    }

    public SimHostConfig withHotplugForcesMasterclockUpdate(boolean on) {
        return edit(e -> e.hotplugForcesMasterclockUpdate = on);
    }

    public SimHostConfig withKvmclockPeriodicSync(boolean on) {
        return edit(e -> e.kvmclockPeriodicSync = on);
    }

    public SimHostConfig withMasterclockSyncPeriodS(long s) {
        return edit(e -> e.masterclockSyncPeriodS = s);
    }

    public SimHostConfig withMaxVcpus(int n) {
        return edit(e -> e.maxVcpus = n);
    }

    public SimHostConfig withLatency(Latency l) {
        return edit(e -> e.latency = l);
    }

    public SimHostConfig withKernel(String release) {
        return edit(e -> e.kernel = release);
    }

    public SimHostConfig withV6Series(boolean on) {
        return edit(e -> e.v6Series = on);
    }

    /** A copy with some fields changed: every {@code with...} method goes through here, so a new field is added once. */
    private SimHostConfig edit(java.util.function.Consumer<Edit> change) {
        Edit e = new Edit(this);
        change.accept(e);
        return e.build();
    }

    /** The fields, mutable, for {@link #edit}. */
    private static final class Edit {
        String name;
        long tscKhz;
        long tscHz;
        long tscAtStart;
        long rawAtStartNs;
        long bootOffsetNs;
        long realtimeAtStartNs;
        Optional<TscScaling> tscScaling;
        boolean vmTscControl;
        boolean clockGuest;
        boolean tscWritesIgnored;
        boolean tscClocksource;
        boolean hotplugForcesMasterclockUpdate;
        boolean kvmclockPeriodicSync;
        long masterclockSyncPeriodS;
        int maxVcpus;
        Latency latency;
        String kernel;
        boolean v6Series;

        Edit(SimHostConfig c) {
            name = c.name;
            tscKhz = c.tscKhz;
            tscHz = c.tscHz;
            tscAtStart = c.tscAtStart;
            rawAtStartNs = c.rawAtStartNs;
            bootOffsetNs = c.bootOffsetNs;
            realtimeAtStartNs = c.realtimeAtStartNs;
            tscScaling = c.tscScaling;
            vmTscControl = c.vmTscControl;
            clockGuest = c.clockGuest;
            tscWritesIgnored = c.tscWritesIgnored;
            tscClocksource = c.tscClocksource;
            hotplugForcesMasterclockUpdate = c.hotplugForcesMasterclockUpdate;
            kvmclockPeriodicSync = c.kvmclockPeriodicSync;
            masterclockSyncPeriodS = c.masterclockSyncPeriodS;
            maxVcpus = c.maxVcpus;
            latency = c.latency;
            kernel = c.kernel;
            v6Series = c.v6Series;
        }

        SimHostConfig build() {
            return new SimHostConfig(name, tscKhz, tscHz, tscAtStart, rawAtStartNs, bootOffsetNs, realtimeAtStartNs,
                    tscScaling, vmTscControl, clockGuest, tscWritesIgnored, tscClocksource,
                    hotplugForcesMasterclockUpdate, kvmclockPeriodicSync, masterclockSyncPeriodS, maxVcpus, latency, kernel,
                    v6Series);
        }
    }
}
