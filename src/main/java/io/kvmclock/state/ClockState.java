package io.kvmclock.state;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.state.StateFormatException.Reason;
import io.kvmclock.time.Units;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Everything a VMM must carry to give a guest back its clocks: the KVM_GET_CLOCK result, each vCPU's TSC and
 * pvclock, and who the host was. Written and read by {@link StateFormat}; every invariant the format checks
 * on read is enforced here too, so a state that exists can always be written and read back.
 *
 * @param format       the version the state was read from ({@link FormatVersion#CURRENT} for a new capture);
 *                     {@link StateFormat#encode} always writes the version it is asked for, not this one
 * @param capture      why and when
 * @param host         the source host's identity
 * @param capabilities the source kernel's clock capabilities; empty when read from a 1.0 file
 * @param clock        KVM_GET_CLOCK as the source returned it (u64 fields held in longs)
 * @param vcpus        1 to 4096 vCPUs with distinct ids, in the order they were captured
 */
public record ClockState(FormatVersion format, Capture capture, HostInfo host,
                         Optional<ClockCapabilities> capabilities, ClockData clock, List<VcpuClockState> vcpus) {

    /** x86 KVM_MAX_VCPUS at its largest configuration (CONFIG_KVM_MAX_NR_VCPUS). */
    public static final int MAX_VCPUS = 4096;
    /** Longest host string (boot id, kernel release, clocksource), in UTF-8 bytes. */
    public static final int MAX_STRING_BYTES = 255;

    /** How far (1 kHz) two tsc_khz may differ and still be the same crystal: the bound KVM_SET_CLOCK_GUEST uses. */
    public static final long SAME_TSC_KHZ_TOLERANCE = 1;
    /** Kexec rule: TSC-elapsed and realtime-elapsed may differ by this plus {@link #KEXEC_PPM} of the span. */
    public static final long KEXEC_SLACK_NS = 100_000_000L;
    public static final long KEXEC_PPM = 1000;

    public ClockState {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(capture, "capture");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(capabilities, "capabilities");
        Objects.requireNonNull(clock, "clock");
        checkString("host boot id", host.bootId());
        checkString("host kernel", host.kernel());
        checkString("host clocksource", host.clocksource());
        if (host.kvmApiVersion() < 0) {
            throw new StateFormatException(Reason.UNKNOWN_CODE,
                    "KVM API version " + Integer.toUnsignedString(host.kvmApiVersion()) + " is out of range");
        }
        VcpuClockState.checkTscKhz("host tsc_khz", host.tscKhz());
        vcpus = List.copyOf(vcpus);
        if (vcpus.isEmpty() || vcpus.size() > MAX_VCPUS) {
            throw new StateFormatException(Reason.VCPU_COUNT_OUT_OF_RANGE,
                    "vCPU count " + vcpus.size() + " is outside 1.." + MAX_VCPUS);
        }
        Set<Integer> ids = new HashSet<>();
        for (VcpuClockState v : vcpus) {
            if (!ids.add(v.id())) {
                throw new StateFormatException(Reason.DUPLICATE_VCPU_ID, "vCPU id " + v.id() + " appears twice");
            }
        }
    }

    /** A new capture, at the current format version. */
    public static ClockState of(Capture capture, HostInfo host, Optional<ClockCapabilities> capabilities,
                                ClockData clock, List<VcpuClockState> vcpus) {
        return new ClockState(FormatVersion.CURRENT, capture, host, capabilities, clock, vcpus);
    }

    static void checkString(String what, String s) {
        Objects.requireNonNull(s, what);
        var encoder = StandardCharsets.UTF_8.newEncoder();
        if (!encoder.canEncode(s)) {
            throw new StateFormatException(Reason.BAD_STRING, what + " is not valid Unicode (unpaired surrogate)");
        }
        int bytes = s.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_STRING_BYTES) {
            throw new StateFormatException(Reason.BAD_STRING,
                    what + " is " + bytes + " bytes of UTF-8, longer than " + MAX_STRING_BYTES);
        }
    }

    /**
     * Whether KVM used its master clock: get_kvmclock (arch/x86/kvm/x86.c) sets KVM_CLOCK_TSC_STABLE exactly
     * when it does. With it, each vCPU's kvmclock is an exact function of its guest TSC; without it, it is not.
     */
    public boolean masterClock() {
        return clock.has(ClockData.TSC_STABLE);
    }

    public Optional<VcpuClockState> vcpu(int id) {
        return vcpus.stream().filter(v -> v.id() == id).findFirst();
    }

    /**
     * Whether restoring on {@code dest}, whose clocks read {@code destNow}, is a live update or a migration.
     * <ol>
     * <li>SAME_BOOT: both boot ids are known and equal, and so are the tsc_khz. A boot id names one boot of
     *     one kernel (/proc/sys/kernel/random/boot_id), so host TSC and kvmclock base simply continue.</li>
     * <li>KEXEC: a different boot id, but tsc_khz within 1 kHz and the host TSC has advanced since the
     *     capture by as much as the real time has: |elapsed TSC in ns - elapsed CLOCK_REALTIME| at most
     *     100 ms + 1000 ppm of the span (tsc_khz calibration differs by up to ~400 ppm between boots, NTP
     *     may slew realtime). kexec does not reset the TSC, so on the same machine the two spans agree;
     *     another machine's TSC counts from its own power-on and lands in that window only by coincidence.
     *     A bare "host TSC is larger" test would not do: any host up longer than the source passes it.</li>
     * <li>MIGRATION: anything else, including unknown (empty) boot ids and a clock that went backwards.</li>
     * </ol>
     * Every doubt falls to MIGRATION, the safe side: a new kernel that rewrites IA32_TSC_ADJUST at boot
     * (tsc_store_and_check_tsc_adjust) makes the TSC jump, and the rule then calls it a migration.
     */
    public Placement placementOn(HostInfo dest, HostClocks destNow) {
        Objects.requireNonNull(destNow, "destNow");
        return placementOn(dest, () -> destNow);
    }

    /** As {@link #placementOn(HostInfo, HostClocks)}, reading the destination's clocks only when the rule needs them. */
    public Placement placementOn(HostInfo dest, Supplier<HostClocks> destClocks) {
        Objects.requireNonNull(dest, "dest");
        Objects.requireNonNull(destClocks, "destClocks");
        boolean sameBoot = !host.bootId().isEmpty() && host.bootId().equals(dest.bootId());
        long khzDiff = Math.abs(host.tscKhz() - dest.tscKhz());
        if (sameBoot) {
            if (host.tscKhz() == dest.tscKhz()) {
                return new Placement(Placement.Kind.SAME_BOOT, "same boot id " + host.bootId());
            }
            return new Placement(Placement.Kind.MIGRATION, "same boot id but tsc_khz " + host.tscKhz() + " vs "
                    + dest.tscKhz() + ": inconsistent, so treated as a migration");
        }
        if (khzDiff > SAME_TSC_KHZ_TOLERANCE) {
            return new Placement(Placement.Kind.MIGRATION, "another boot with tsc_khz " + dest.tscKhz()
                    + " (source " + host.tscKhz() + ")");
        }
        long savedTsc = capture.at().tsc();
        HostClocks destNow = Objects.requireNonNull(destClocks.get(), "destination clocks");
        if (Long.compareUnsigned(destNow.tsc(), savedTsc) <= 0) {
            return new Placement(Placement.Kind.MIGRATION, "another boot whose host TSC " + Long.toUnsignedString(destNow.tsc())
                    + " is not past the captured " + Long.toUnsignedString(savedTsc));
        }
        long realNs = destNow.realtimeNs() - capture.at().realtimeNs();
        if (realNs < 0) {
            return new Placement(Placement.Kind.MIGRATION, "another boot whose CLOCK_REALTIME is before the capture's");
        }
        long tscNs;
        try {
            tscNs = Units.cyclesToNs(destNow.tsc() - savedTsc, host.tscKhz());
        } catch (ArithmeticException e) {
            tscNs = Long.MAX_VALUE;
        }
        long gap = Math.abs(tscNs - realNs);
        long allowed = KEXEC_SLACK_NS + realNs / 1_000_000 * KEXEC_PPM;
        if (tscNs != Long.MAX_VALUE && gap <= allowed) {
            return new Placement(Placement.Kind.KEXEC, "another boot, same TSC: it advanced " + tscNs
                    + " ns while realtime advanced " + realNs + " ns");
        }
        return new Placement(Placement.Kind.MIGRATION, "another boot whose host TSC advanced "
                + (tscNs == Long.MAX_VALUE ? "beyond 2^63 ns" : tscNs + " ns") + " while realtime advanced "
                + realNs + " ns: not the same TSC");
    }
}
