package io.kvmclock.drift;

import io.kvmclock.guest.ClockGuest;
import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.GuestMemory;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.hv.Hypervisor;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.hv.Vm;
import io.kvmclock.hv.VmConfig;
import io.kvmclock.time.Clocksource;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TimeScale;
import io.kvmclock.time.Units;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A deliberately small stand-in for KVM's master clock, for testing the measurement procedure only (the real
 * model is io.kvmclock.sim): one VM, host time on a virtual line, a new master clock reference when vCPU 0's
 * TSC offset changes, on KVM_SET_CLOCK, and (if asked) when a vCPU is created.
 */
public final class FakeKvm implements Hypervisor {
    final long khz;
    final boolean hotplugTakesReference;
    final Clocksource cs;
    final TimeScale pv;
    long nowNs = 1_000_000_000L;
    final List<String> calls = new ArrayList<>();

    public FakeKvm(long khz, boolean hotplugTakesReference) {
        this.khz = khz;
        this.hotplugTakesReference = hotplugTakesReference;
        this.cs = Clocksource.forTscKhz(khz);
        this.pv = TimeScale.forGuestKhz(khz);
    }

    long hostTsc() {
        return Units.nsToCycles(nowNs, khz) + 123_456_789L;
    }

    @Override
    public String backend() {
        return "fake";
    }

    @Override
    public HostInfo host() {
        return new HostInfo("fake", 12, khz, "tsc", "boot");
    }

    @Override
    public ClockCapabilities capabilities() {
        return new ClockCapabilities(14, false, false, true, true, false);
    }

    @Override
    public Vm createVm(VmConfig config) {
        return new FakeVm();
    }

    @Override
    public void elapse(long nanos) {
        calls.add("elapse " + nanos);
        nowNs += nanos;
    }

    @Override
    public HostClocks readHostClocks() {
        return new HostClocks(hostTsc(), cs.cyclesToNs(hostTsc()), nowNs);
    }

    @Override
    public void close() {}

    final class FakeVm implements Vm {
        final byte[] mem = new byte[1 << 16];
        final List<Vcpu> vcpus = new ArrayList<>();
        long masterCycle;
        long masterNs;
        long kvmclockOffset;
        boolean pending = true;
        long version;

        void takeReference() {
            masterCycle = hostTsc();
            masterNs = cs.cyclesToNs(masterCycle);
        }

        @Override
        public ClockData getClock() {
            long tsc = hostTsc();
            long clock = masterNs + kvmclockOffset + pv.scaleDelta(tsc - masterCycle);
            return new ClockData(clock, ClockData.TSC_STABLE | ClockData.REALTIME | ClockData.HOST_TSC, nowNs, tsc);
        }

        @Override
        public void setClock(ClockData data) {
            calls.add("setClock");
            takeReference();
            kvmclockOffset = data.clock() - masterNs;
            pending = true;
        }

        @Override
        public long getTscKhz() {
            return khz;
        }

        @Override
        public void setTscKhz(long k) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Vcpu createVcpu(int id) {
            calls.add("createVcpu " + id);
            FakeVcpu v = new FakeVcpu(this, id);
            vcpus.add(v);
            if (vcpus.size() > 1 && hotplugTakesReference) {
                pending = true;
                takeReferenceOnRun = true;
            }
            if (vcpus.size() == 1) {
                takeReferenceOnRun = true;
            }
            return v;
        }

        boolean takeReferenceOnRun;

        @Override
        public List<Vcpu> vcpus() {
            return vcpus;
        }

        @Override
        public GuestMemory memory() {
            return new GuestMemory() {
                @Override
                public long size() {
                    return mem.length;
                }

                @Override
                public byte[] read(long gpa, int length) {
                    return Arrays.copyOfRange(mem, (int) gpa, (int) gpa + length);
                }

                @Override
                public void write(long gpa, byte[] data) {
                    System.arraycopy(data, 0, mem, (int) gpa, data.length);
                }
            };
        }

        @Override
        public void close() {}
    }

    final class FakeVcpu implements Vcpu {
        final FakeVm vm;
        final int id;
        long offset = -5_000_000L;
        long lastOffset = offset;
        boolean enabled;
        boolean hiNext;
        long reported;

        FakeVcpu(FakeVm vm, int id) {
            this.vm = vm;
            this.id = id;
        }

        @Override
        public int id() {
            return id;
        }

        @Override
        public long getTscKhz() {
            return khz;
        }

        @Override
        public void setTscKhz(long k) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long getTscOffset() {
            return offset;
        }

        @Override
        public void setTscOffset(long o) {
            calls.add("setTscOffset " + (o - offset));
            if (o != lastOffset) {
                vm.pending = true;
                vm.takeReferenceOnRun = true;
            }
            offset = o;
            lastOffset = o;
        }

        @Override
        public long getMsr(int index) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setMsr(int index, long value) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void kvmclockCtrl() {}

        @Override
        public PvclockTimeInfo getClockGuest() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void setClockGuest(PvclockTimeInfo p) {
            throw new UnsupportedOperationException();
        }

        long entry = -1;

        @Override
        public void resetToRealMode(long entryGpa) {
            entry = entryGpa;
        }

        @Override
        public CpuState saveCpuState() {
            throw new UnsupportedOperationException();
        }

        @Override
        public void restoreCpuState(CpuState state) {
            throw new UnsupportedOperationException();
        }

        @Override
        public VcpuExit run() {
            nowNs += 1_000;
            if (entry != ClockGuestAbi.CODE_GPA) {
                return new VcpuExit.Other(17, "no code at 0x" + Long.toHexString(entry));
            }
            if (!enabled) {
                byte[] code = vm.memory().read(ClockGuestAbi.CODE_GPA, ClockGuest.CODE.length);
                if (!Arrays.equals(code, ClockGuest.CODE)) {
                    return new VcpuExit.Other(17, "no clock guest loaded");
                }
                enabled = true;
                vm.pending = true;
            }
            if (vm.takeReferenceOnRun) {
                vm.takeReference();
                vm.takeReferenceOnRun = false;
            }
            if (vm.pending) {
                vm.version += 2;
                PvclockTimeInfo p = PvclockTimeInfo.of(vm.version, vm.masterCycle + offset,
                        vm.masterNs + vm.kvmclockOffset, pv, PvclockTimeInfo.FLAG_TSC_STABLE);
                vm.memory().write(ClockGuestAbi.PVCLOCK_GPA, p.encode());
                vm.pending = false;
            }
            if (!hiNext) {
                reported = hostTsc() + offset;
                hiNext = true;
                return new VcpuExit.IoOut(ClockGuestAbi.PORT_TSC_LO, 4, reported & 0xFFFF_FFFFL);
            }
            hiNext = false;
            return new VcpuExit.IoOut(ClockGuestAbi.PORT_TSC_HI, 4, reported >>> 32);
        }

        @Override
        public void close() {}
    }
}
