package io.kvmclock.sim;

import static org.junit.jupiter.api.Assertions.*;

import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.TscScaling;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SimClockGuestTest {

    @Test
    void guestProtocolReportsOneTscInTwoExitsAndEnablesKvmclock() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.kvmIntel().withLatency(Latency.none()), 1)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            Vcpu v = vm.createVcpu(0);
            v.resetToRealMode(ClockGuestAbi.CODE_GPA);
            long before = v.getMsr(Vcpu.MSR_IA32_TSC);
            VcpuExit lo = v.run();
            hv.elapse(1_000_000);
            VcpuExit hi = v.run();
            assertEquals(ClockGuestAbi.PORT_TSC_LO, ((VcpuExit.IoOut) lo).port());
            assertEquals(ClockGuestAbi.PORT_TSC_HI, ((VcpuExit.IoOut) hi).port());
            long tsc = (((VcpuExit.IoOut) hi).value() << 32) | ((VcpuExit.IoOut) lo).value();
            assertEquals(before, tsc, "the TSC is read once, before both exits");
            assertTrue(tsc < 1000, "kvm_synchronize_tsc(vcpu, NULL) starts the guest TSC at 0");
            assertEquals(ClockGuestAbi.PVCLOCK_GPA | 1, v.getMsr(Vcpu.MSR_KVM_SYSTEM_TIME_NEW));
            PvclockTimeInfo p = PvclockTimeInfo.decode(vm.memory().read(ClockGuestAbi.PVCLOCK_GPA, PvclockTimeInfo.SIZE));
            assertEquals(0, p.version() % 2);
            assertTrue(p.version() > 0);
            assertTrue(p.tscStable(), "one vCPU, TSC clocksource: master clock");
            assertEquals(TimeScale.forGuestKhz(SimHostConfig.kvmIntel().tscKhz()), p.scale());
            assertEquals(ClockData.TSC_STABLE | ClockData.REALTIME | ClockData.HOST_TSC, vm.getClock().flags());
        }
    }

    @Test
    void cpuStateCarriesWhereTheProgramIs() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611().withLatency(Latency.none()), 1)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            Vcpu a = vm.createVcpu(0);
            a.resetToRealMode(ClockGuestAbi.CODE_GPA);
            VcpuExit lo = a.run();
            CpuState mid = a.saveCpuState();
            Vcpu b = vm.createVcpu(1);
            b.restoreCpuState(mid);
            VcpuExit hi = b.run();
            assertEquals(ClockGuestAbi.PORT_TSC_HI, ((VcpuExit.IoOut) hi).port(), "resumes between the two OUTs");
            long tsc = (((VcpuExit.IoOut) hi).value() << 32) | ((VcpuExit.IoOut) lo).value();
            assertEquals(a.getMsr(Vcpu.MSR_IA32_TSC), tsc);
            Vcpu c = vm.createVcpu(2);
            assertInstanceOf(VcpuExit.Other.class, c.run(), "no program without a reset");
        }
    }

    @Test
    void guestKvmclockFastPathAgreesWithDecodedPvclock() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.ideal(2_995_200), 3)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            SimVcpu v = (SimVcpu) vm.createVcpu(0);
            GuestProbe.start(v);
            GuestProbe.readTsc(v);
            for (int i = 0; i < 50; i++) {
                hv.elapse(123_456_789_011L);
                long fast = v.guestKvmclockNs().orElseThrow();
                assertEquals(GuestProbe.pvclock(vm).read(v.guestTsc()), fast);
            }
        }
    }

    @Test
    void kvmclockCtrlSetsGuestStoppedUntilTheGuestClearsIt() {
        try (SimHypervisor hv = SimHypervisor.create(SimHostConfig.pvmIntel202611(), 1)) {
            Vm vm = hv.createVm(VmConfig.defaults());
            Vcpu v = vm.createVcpu(0);
            assertEquals(22, assertThrows(HvException.class, v::kvmclockCtrl).errno(),
                    "EINVAL before the guest enables kvmclock");
            GuestProbe.start(v);
            GuestProbe.readTsc(v);
            assertFalse(GuestProbe.pvclock(vm).guestStopped());
            v.kvmclockCtrl();
            GuestProbe.readTsc(v);
            assertTrue(GuestProbe.pvclock(vm).guestStopped());
        }
    }

    @Test
    void scaledPvclockFrequencyIsKhzTruncatedOn618AndHzWithTheSeries() {
        for (boolean series : new boolean[] {false, true}) {
            SimHostConfig cfg = SimHostConfig.pvmIntel202611().withScaling(Optional.of(TscScaling.VMX))
                    .withClockGuest(series);
            try (SimHypervisor hv = SimHypervisor.create(cfg, 1)) {
                Vm vm = hv.createVm(VmConfig.defaults());
                vm.setTscKhz(1_000_000);
                Vcpu v = vm.createVcpu(0);
                GuestProbe.start(v);
                GuestProbe.readTsc(v);
                long host = cfg.tscKhz();
                long ratio = TscScaling.VMX.ratio(1_000_000, host);
                TimeScale expected = series
                        ? TimeScale.kvmGetTimeScale(1_000_000_000L, TscScaling.VMX.scale(host * 1000, ratio))
                        : TimeScale.forGuestKhz(TscScaling.VMX.scale(host, ratio));
                assertEquals(expected, GuestProbe.pvclock(vm).scale());
                if (!series) {
                    assertEquals(TimeScale.forGuestKhz(999_999), expected, "2.1 GHz scaled to 1 GHz truncates to 999,999 kHz");
                }
            }
        }
    }
}
