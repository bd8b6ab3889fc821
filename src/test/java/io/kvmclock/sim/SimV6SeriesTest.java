package io.kvmclock.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.TscScale;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.TscScaling;
import org.junit.jupiter.api.Test;

/**
 * The v6 series' host (docs/v6-series.md) against the 6.18 host with the v5 CLOCK_GUEST ioctls it is built
 * from: each scenario runs on both, and where v6 changed the kernel the two answer differently.
 */
class SimV6SeriesTest {
    private static final SimHostConfig V6 = SimHostConfig.v6Host().withLatency(Latency.none());
    private static final SimHostConfig V618 = SimHostConfig.clockGuestHost().withLatency(Latency.none());

    /** A VM with {@code n} vCPUs, each running the clock guest once (serving its requests). */
    private static Vm runningVm(SimHypervisor hv, int n) {
        Vm vm = hv.createVm(VmConfig.defaults());
        for (int i = 0; i < n; i++) {
            Vcpu v = vm.createVcpu(i);
            GuestProbe.start(v);
            GuestProbe.readTsc(v);
        }
        return vm;
    }

    private static void runAll(Vm vm) {
        for (Vcpu v : vm.vcpus()) {
            GuestProbe.readTsc(v);
        }
    }

    @Test
    void differentTscOffsetsKeepTheMasterClockOnlyOnV6() {
        for (SimHostConfig cfg : new SimHostConfig[] {V6, V618}) {
            try (SimHypervisor hv = SimHypervisor.create(cfg, 3)) {
                Vm vm = runningVm(hv, 3);
                Vcpu v2 = vm.vcpus().get(2);
                v2.setTscOffset(v2.getTscOffset() + 1_000_000_000L);
                runAll(vm);
                boolean stable = vm.getClock().has(ClockData.TSC_STABLE);
                if (cfg.v6Series()) {
                    assertTrue(stable, "v6: the master clock needs matching frequencies only");
                    PvclockTimeInfo p = vm.vcpus().get(2).getClockGuest();
                    assertFalse(p.tscStable(), "v6: PVCLOCK_TSC_STABLE_BIT only when all offsets match");
                    assertFalse(GuestProbe.pvclock(vm).tscStable(), "the guest's own pvclock says the same");
                } else {
                    assertFalse(stable, "6.18: unmatched TSCs turn the master clock off");
                    HvException e = assertThrows(HvException.class, () -> vm.vcpus().get(2).getClockGuest());
                    assertTrue(e.is(Errno.EINVAL));
                }
            }
        }
    }

    @Test
    void aFreshVmHasAMasterClockOnV6Only() {
        for (SimHostConfig cfg : new SimHostConfig[] {V6, V618}) {
            try (SimHypervisor hv = SimHypervisor.create(cfg, 4)) {
                Vm vm = hv.createVm(VmConfig.defaults());
                assertEquals(cfg.v6Series(), vm.getClock().has(ClockData.TSC_STABLE),
                        cfg.name() + ": v6 sets the master clock up in kvm_arch_init_vm (patch 36)");
            }
        }
    }

    @Test
    void clockGuestShiftBoundAndFutureTimestamp() {
        for (SimHostConfig cfg : new SimHostConfig[] {V6, V618}) {
            try (SimHypervisor hv = SimHypervisor.create(cfg, 5)) {
                Vm vm = runningVm(hv, 1);
                Vcpu v = vm.vcpus().getFirst();
                PvclockTimeInfo p = v.getClockGuest();
                PvclockTimeInfo shift32 = PvclockTimeInfo.of(0, p.tscTimestamp(), p.systemTime(),
                        new TimeScale(p.mul(), 32), 0);
                HvException e = assertThrows(HvException.class, () -> v.setClockGuest(shift32));
                // v6 refuses the shift itself; v5 accepts it and then finds the frequency it encodes wrong
                assertEquals(cfg.v6Series() ? Errno.EINVAL.number() : Errno.ERANGE.number(), e.errno(), e.getMessage());

                PvclockTimeInfo future = PvclockTimeInfo.of(0, p.tscTimestamp() + 1_000_000_000_000L, p.systemTime(),
                        p.scale(), 0);
                if (cfg.v6Series()) {
                    HvException f = assertThrows(HvException.class, () -> v.setClockGuest(future));
                    assertTrue(f.is(Errno.EINVAL) && f.getMessage().contains("below the pvclock's tsc_timestamp"), f.getMessage());
                } else {
                    v.setClockGuest(future);
                }
            }
        }
    }

    @Test
    void clockGuestFrequencyWindowIsThisVcpusScaledRateInHz() {
        try (SimHypervisor hv = SimHypervisor.create(V6, 6)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            vm.setTscKhz(1_500_000);
            Vcpu v = vm.createVcpu(0);
            GuestProbe.start(v);
            GuestProbe.readTsc(v);
            PvclockTimeInfo p = v.getClockGuest();
            long hz = p.scale().toHz();
            long scaledHz = TscScaling.VMX.scale(hv.simHost().tscKhz() * 1000, TscScaling.VMX.ratio(1_500_000, hv.simHost().tscKhz()));
            assertEquals(TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, scaledHz), p.scale(), "the pvclock is built in Hz (patch 02)");
            assertTrue(Math.abs(hz - scaledHz) <= 1000, hz + " Hz vs " + scaledHz);
            v.setClockGuest(p);
            // a pvclock for 1.5 GHz + 2 kHz is outside the +-1000 Hz window
            PvclockTimeInfo off = PvclockTimeInfo.of(0, p.tscTimestamp(), p.systemTime(),
                    TimeScale.kvmGetTimeScale(TimeScale.NSEC_PER_SEC, scaledHz + 2000), 0);
            HvException e = assertThrows(HvException.class, () -> v.setClockGuest(off));
            assertTrue(e.is(Errno.ERANGE), e.getMessage());
        }
    }

    @Test
    void tscScaleAttributeReadsTheVcpusRatio() {
        try (SimHypervisor v6 = SimHypervisor.create(V6, 7); SimHypervisor v618 = SimHypervisor.create(V618, 7)) {
            Vm vm = v6.createVm(VmConfig.defaults());
            vm.setTscKhz(3_000_000);
            Vcpu v = vm.createVcpu(0);
            long host = v6.simHost().tscKhz();
            assertEquals(new TscScale(TscScaling.VMX.ratio(3_000_000, host), 48), v.getTscScale());
            Vcpu w = v618.createVm(VmConfig.defaults()).createVcpu(0);
            HvException e = assertThrows(HvException.class, w::getTscScale);
            assertTrue(e.is(Errno.ENXIO), "6.18 has no KVM_VCPU_TSC_SCALE: " + e.getMessage());
            SimHypervisor noScaling = SimHypervisor.create(SimHostConfig.v6Host().withScaling(java.util.Optional.empty()), 7);
            HvException n = assertThrows(HvException.class, () -> noScaling.createVm(VmConfig.defaults()).createVcpu(0).getTscScale());
            assertTrue(n.is(Errno.ENXIO), "v6 without TSC control: " + n.getMessage());
            noScaling.close();
        }
    }

    /** Patch 25: enabling kvmclock on one vCPU updates that vCPU only; 6.18 schedules an update of all of them. */
    @Test
    void enablingKvmclockUpdatesOnlyThatVcpuOnV6() {
        for (SimHostConfig cfg : new SimHostConfig[] {V6, V618}) {
            try (SimHypervisor hv = SimHypervisor.create(cfg, 8)) {
                Vm vm = runningVm(hv, 2);
                hv.elapse(1_000_000_000L);
                runAll(vm);
                SimVcpu v0 = (SimVcpu) vm.vcpus().get(0);
                long before = v0.timeUpdates();
                vm.vcpus().get(1).setMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW, v0.getMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW));
                GuestProbe.readTsc(vm.vcpus().get(1));
                hv.elapse(SimVm.KVMCLOCK_UPDATE_DELAY_NS * 2);
                GuestProbe.readTsc(v0);
                long updates = v0.timeUpdates() - before;
                assertEquals(cfg.v6Series() ? 0 : 1, updates, cfg.name() + ": vCPU0's clock updates after vCPU1's MSR write");
            }
        }
    }
}
