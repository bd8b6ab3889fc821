package io.kvmclock.state;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.TscScaling;
import io.kvmclock.time.Units;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A made-up but self-consistent clock state, for trying {@code state show} and for tests without KVM. It is
 * labelled {@link CaptureKind#SYNTHETIC} and its kernel string says so. The numbers follow KVM's master-clock
 * rules (kvm_guest_time_update, get_kvmclock): a host up for an hour, a VM created 20 s before the master
 * clock reference and 20 s before the capture, guest TSCs starting from 0 at vCPU creation.
 */
public final class SampleState {
    private SampleState() {}

    public static final String BOOT_ID = "5a3c0f1e-8d2b-4c47-9e61-000000000000";
    public static final String KERNEL = "synthetic (kvmclock state sample, not a real host)";
    /** 2026-11-21T12:00:00Z, an arbitrary fixed wall-clock time so the sample is reproducible. */
    static final long REALTIME_AT_CAPTURE_NS = 1_795_262_400_000_000_000L;

    /**
     * @param vcpus     1..4096
     * @param hostKhz   host tsc_khz
     * @param guestKhz  guest tsc_khz; outside 250 ppm of the host it is reached by VMX scaling
     */
    public static ClockState create(int vcpus, long hostKhz, long guestKhz) {
        VcpuClockState.checkTscKhz("host tsc_khz", hostKhz);
        VcpuClockState.checkTscKhz("guest tsc_khz", guestKhz);
        TscRate scaling = TscRate.of(Optional.of(TscScaling.VMX), guestKhz, hostKhz);

        long createNs = 3_540_000_000_000L;                     // VM created at host uptime 3540 s
        long masterNs = createNs + 20_000_000_000L + 123_456_789L; // master clock reference 20.12 s later
        long getClockNs = masterNs + 20_000_000_000L;            // KVM_GET_CLOCK 20 s after that
        long createTsc = Units.nsToCycles(createNs, hostKhz);
        long masterTsc = Units.nsToCycles(masterNs, hostKhz);
        long getClockTsc = Units.nsToCycles(getClockNs, hostKhz);
        long masterKernelNs = Units.cyclesToNs(masterTsc, hostKhz);
        long kvmclockOffset = -Units.cyclesToNs(createTsc, hostKhz);
        long systemTime = masterKernelNs + kvmclockOffset;

        long offset = -scaling.scale(createTsc);               // guest TSC 0 at vCPU creation: wraps, top bit set
        long tscTimestamp = scaling.scale(masterTsc) + offset;
        TimeScale guestScale = TimeScale.forGuestKhz(guestKhz);

        long clock = systemTime + TimeScale.forGuestKhz(hostKhz).scaleDelta(getClockTsc - masterTsc);
        ClockData data = new ClockData(clock, ClockData.TSC_STABLE | ClockData.REALTIME | ClockData.HOST_TSC,
                REALTIME_AT_CAPTURE_NS, getClockTsc);

        List<VcpuClockState> list = new ArrayList<>();
        for (int i = 0; i < vcpus; i++) {
            long readTsc = getClockTsc + 2_600L * (i + 1);      // each vCPU's IA32_TSC read ~1 us after the last
            PvclockTimeInfo pv = PvclockTimeInfo.of(4L + 2L * i, tscTimestamp, systemTime, guestScale,
                    PvclockTimeInfo.FLAG_TSC_STABLE);
            list.add(new VcpuClockState(i, offset, scaling.scale(readTsc) + offset, guestKhz, scaling,
                    new GuestPvclock.Captured(pv, GuestPvclock.Source.GUEST_MEMORY)));
        }
        long captureTsc = getClockTsc + 2_600L * (vcpus + 1);
        HostClocks at = new HostClocks(captureTsc, Units.cyclesToNs(captureTsc, hostKhz),
                REALTIME_AT_CAPTURE_NS + Units.cyclesToNs(captureTsc - getClockTsc, hostKhz));
        HostInfo host = new HostInfo(KERNEL, 12, hostKhz, "tsc", BOOT_ID);
        ClockCapabilities caps = new ClockCapabilities(ClockData.TSC_STABLE | ClockData.REALTIME | ClockData.HOST_TSC,
                scaling.scaled(), false, true, true, false);
        return ClockState.of(new Capture(CaptureKind.SYNTHETIC, at), host, Optional.of(caps), data, list);
    }
}
