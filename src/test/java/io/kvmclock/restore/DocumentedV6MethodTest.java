package io.kvmclock.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kvmclock.demo.DemoRunner;
import io.kvmclock.demo.MethodResult;
import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.TscScale;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.kvm.RealKvm;
import io.kvmclock.sim.SimHostConfig;
import io.kvmclock.sim.SimHypervisor;
import io.kvmclock.state.CaptureKind;
import io.kvmclock.state.ClockState;
import io.kvmclock.state.GuestPvclock;
import io.kvmclock.state.ScaleReading;
import io.kvmclock.state.VcpuClockState;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.TscRate;
import io.kvmclock.time.TscScaling;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The v6 series' documented migration algorithm (patch 09), on the v6 model, older model hosts and this kernel. */
class DocumentedV6MethodTest {
    private static final DemoRunner.Progress QUIET = (m, i, n) -> { };

    private static MethodResult.Ran run(Hypervisor hv, int trials) {
        return Outcomes.ran(new DemoRunner(hv, trials, 0, QUIET).runMethod(new DocumentedV6Method()));
    }

    /**
     * Within the kernel selftest's +-2 ns: KVM_SET_CLOCK_GUEST's own rounding (the restored and the saved pvclock
     * have different reference points) is -2..0 ns, see SelftestPreciseReplayTest.
     */
    private static boolean allWithinKernelBound(MethodResult.Ran r) {
        return Arrays.stream(r.kvmclockErrors()).allMatch(a -> a >= -2 && a <= 0);
    }

    @Test
    void onTheV6HostItTakesSetClockGuestWithinTheKernelsBound() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.v6Host(), 11)) {
            MethodResult.Ran r = run(hv, 30);
            assertEquals(0, r.failures(), r.trials().toString());
            assertEquals(0, r.fallbacks(), r.notes().toString());
            assertTrue(allWithinKernelBound(r), r.trials().toString());
            assertTrue(r.shareWithin(1) >= 0.5, "most trials within 1 ns: " + r.trials());
            assertEquals(0, r.backwards());
        }
    }

    /** Patch 09's reason: migration between hosts at different TSC rates, the guest TSC scaled on one of them. */
    @Test
    void acrossHostsAtAnotherTscRateOnV6() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.v6Host(), 12)) {
            SimHypervisor peer = hv.peerAt(2_995_200);
            MethodResult.Ran r = Outcomes.ran(new DemoRunner(hv, 10, 0, QUIET).withPeer(peer).runMethod(new DocumentedV6Method()));
            assertEquals(0, r.failures(), r.trials().toString());
            assertEquals(0, r.fallbacks(), r.notes().toString());
            assertEquals(5, r.scaledTrials(), "every trial on the peer runs the guest scaled");
            assertTrue(allWithinKernelBound(r), r.trials().toString());
            peer.close();
        }
    }

    @Test
    void onA618HostWithTheV5IoctlsItSaysWhatIsMissingAndStillTakesSetClockGuest() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.clockGuestHost(), 13)) {
            MethodResult.Ran r = run(hv, 5);
            assertEquals(0, r.fallbacks());
            assertEquals(5L, r.notes().get("KVM_VCPU_TSC_SCALE unavailable here (ENXIO): the destination ratio is the one set_tsc_khz programs"));
        }
    }

    @Test
    void withoutSetClockGuestItFallsBackInEveryTrialAndSaysSo() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel(), 14)) {
            MethodResult.Ran r = run(hv, 5);
            assertEquals(0, r.failures(), r.trials().toString());
            assertEquals(5, r.fallbacks());
            assertTrue(r.notes().keySet().stream().anyMatch(n -> n.startsWith("KVM_SET_CLOCK_GUEST is missing on this kernel")
                    && n.contains("fell back to KVM_SET_CLOCK(guest_src, time_src, REALTIME)")), r.notes().toString());
        }
    }

    /** A saved pvclock the kernel refuses (it encodes 2 kHz more than the vCPU runs): ERANGE, then step 9. */
    @Test
    void whenSetClockGuestFailsItFallsBackNamingTheErrno() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.v6Host(), 15)) {
            Vm src = hv.createVm(VmConfig.defaults());
            ClockGuest g = ClockGuest.boot(src);
            g.readTsc();
            ClockState s = ClockCapture.capture(hv, src, List.of(g.vcpu()), v -> g.readPvclock(), CaptureKind.LIVE_UPDATE);
            VcpuClockState v = s.vcpus().getFirst();
            PvclockTimeInfo p = ((GuestPvclock.Captured) v.pvclock()).pvclock();
            PvclockTimeInfo wrong = PvclockTimeInfo.of(0, p.tscTimestamp(), p.systemTime(),
                    TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, p.scale().toHz() + 2000), p.flags());
            ClockState bad = new ClockState(s.format(), s.capture(), s.host(), s.capabilities(), s.clock(),
                    List.of(new VcpuClockState(v.id(), v.tscOffset(), v.guestTsc(), v.tscKhz(), v.scaling(),
                            new GuestPvclock.Captured(wrong, GuestPvclock.Source.KVM_GET_CLOCK_GUEST), v.kernelScale())));
            ClockGuest.Snapshot snap = g.pause(true);
            Vm dst = hv.createVm(VmConfig.defaults());
            ClockGuest d = ClockGuest.resume(dst, DemoRunner.createVcpu(hv, dst, new DocumentedV6Method(), bad), snap);
            RestoreReport rep = new DocumentedV6Method().restore(new RestoreTarget(hv, dst, List.of(d.vcpu())), bad);
            assertTrue(rep.fellBack());
            assertTrue(rep.notes().getFirst().startsWith("KVM_SET_CLOCK_GUEST failed with ERANGE (34)"), rep.notes().toString());
            src.close();
            dst.close();
        }
    }

    /** Capture keeps the kernel's own ratio where KVM_VCPU_TSC_SCALE answers, and says "not read" where not. */
    @Test
    void captureRecordsTheKernelsRatio() {
        for (SimHostConfig cfg : List.of(SimHostConfig.v6Host(), SimHostConfig.clockGuestHost())) {
            try (SimHypervisor hv = SimHypervisor.create(cfg, 16)) {
                Vm vm = hv.createVm(VmConfig.defaults());
                vm.setTscKhz(1_500_000);
                ClockGuest g = ClockGuest.boot(vm);
                g.readTsc();
                VcpuClockState v = ClockCapture.capture(hv, vm, List.of(g.vcpu()), x -> g.readPvclock(),
                        CaptureKind.SNAPSHOT).vcpus().getFirst();
                long ratio = TscScaling.VMX.ratio(1_500_000, hv.simHost().tscKhz());
                assertEquals(new TscRate.Scaled(TscScaling.VMX, ratio), v.scaling());
                if (cfg.v6Series()) {
                    assertEquals(new ScaleReading.FromKernel(new TscScale(ratio, 48)), v.kernelScale());
                } else {
                    assertEquals(new ScaleReading.NotRead(), v.kernelScale());
                }
            }
        }
    }

    @Tag("kvm")
    @Test
    void onThisMachinesKernelItFallsBackInEveryTrialAndSaysSo() {
        try (Hypervisor hv = RealKvm.openOrSkip()) {
            assumeTrue(!hv.capabilities().clockGuest(), "this kernel has KVM_SET_CLOCK_GUEST: nothing to fall back from");
            MethodResult.Ran r = run(hv, 10);
            assertEquals(0, r.failures(), r.trials().toString());
            assertEquals(10, r.fallbacks(), r.trials().toString());
            assertTrue(r.notes().entrySet().stream().anyMatch(e -> e.getValue() == 10
                    && e.getKey().contains("KVM_SET_CLOCK_GUEST is missing on this kernel")), r.notes().toString());
            assertFalse(r.notes().isEmpty());
        }
    }
}
