package io.kvmclock.drift;

import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.GuestMemory;
import io.kvmclock.hv.Vcpu;
import io.kvmclock.hv.VcpuExit;
import io.kvmclock.time.PvclockTimeInfo;

/**
 * A private stand-in for io.kvmclock.guest.ClockGuest until it is merged: loads the clock guest described by
 * {@link ClockGuestAbi} and reads what it reports. Hand-assembled 16-bit real-mode code (66h prefixes make
 * the operations 32-bit):
 * <pre>
 *   mov ecx, 0x4b564d01        66 B9 01 4D 56 4B
 *   mov eax, PVCLOCK_GPA | 1   66 B8 01 20 00 00
 *   xor edx, edx               66 31 D2
 *   wrmsr                      0F 30
 * loop:
 *   rdtsc                      0F 31
 *   out PORT_TSC_LO, eax       66 E7 10
 *   mov eax, edx               66 89 D0
 *   out PORT_TSC_HI, eax       66 E7 11
 *   jmp loop                   EB F3
 * </pre>
 */
final class ClockGuestRunner {
    private ClockGuestRunner() {}

    /** Enough exits to find a TSC report even if the kernel interposes a few others. */
    private static final int MAX_EXITS = 64;

    static byte[] code() {
        long gpa = ClockGuestAbi.PVCLOCK_GPA | 1;
        if (gpa > 0xFFFF_FFFFL) {
            throw new IllegalStateException("PVCLOCK_GPA must fit 32 bits");
        }
        return new byte[] {
            0x66, (byte) 0xB9, 0x01, 0x4D, 0x56, 0x4B,
            0x66, (byte) 0xB8, (byte) gpa, (byte) (gpa >>> 8), (byte) (gpa >>> 16), (byte) (gpa >>> 24),
            0x66, 0x31, (byte) 0xD2,
            0x0F, 0x30,
            0x0F, 0x31,
            0x66, (byte) 0xE7, (byte) ClockGuestAbi.PORT_TSC_LO,
            0x66, (byte) 0x89, (byte) 0xD0,
            0x66, (byte) 0xE7, (byte) ClockGuestAbi.PORT_TSC_HI,
            (byte) 0xEB, (byte) 0xF3
        };
    }

    /** Where a hotplugged vCPU runs: OUT PARK_PORT, AL; JMP back to it (E6 12 EB FC). No MSR, no HLT. */
    static final long PARK_GPA = ClockGuestAbi.CODE_GPA + 0x100;
    static final int PARK_PORT = 0x12;

    static void loadParked(GuestMemory memory, Vcpu vcpu) {
        memory.write(PARK_GPA, new byte[] {(byte) 0xE6, (byte) PARK_PORT, (byte) 0xEB, (byte) 0xFC});
        vcpu.resetToRealMode(PARK_GPA);
    }

    /** One KVM_RUN of a parked vCPU, which exits on its OUT. */
    static void runParked(Vcpu vcpu) {
        VcpuExit exit = vcpu.run();
        if (!(exit instanceof VcpuExit.IoOut io) || io.port() != PARK_PORT) {
            throw new IllegalStateException("parked vCPU " + vcpu.id() + " exited with " + exit);
        }
    }

    static void load(GuestMemory memory, Vcpu vcpu) {
        memory.write(ClockGuestAbi.CODE_GPA, code());
        vcpu.resetToRealMode(ClockGuestAbi.CODE_GPA);
    }

    /** Runs the guest until it has reported one TSC value (an OUT to PORT_TSC_LO then PORT_TSC_HI). */
    static long nextTsc(Vcpu vcpu) {
        Long lo = null;
        for (int i = 0; i < MAX_EXITS; i++) {
            VcpuExit exit = vcpu.run();
            switch (exit) {
                case VcpuExit.IoOut io when io.port() == ClockGuestAbi.PORT_TSC_LO -> lo = io.value() & 0xFFFF_FFFFL;
                case VcpuExit.IoOut io when io.port() == ClockGuestAbi.PORT_TSC_HI -> {
                    if (lo != null) {
                        return (io.value() << 32) | lo;
                    }
                }
                case VcpuExit.IoOut io -> throw new IllegalStateException("clock guest wrote to unexpected port 0x"
                        + Integer.toHexString(io.port()));
                case VcpuExit.Halt h -> throw new IllegalStateException("clock guest halted");
                case VcpuExit.Other o -> throw new IllegalStateException("clock guest exit " + o.reason() + ": "
                        + o.detail());
            }
        }
        throw new IllegalStateException("clock guest reported no TSC in " + MAX_EXITS + " exits");
    }

    /** The guest's pvclock as it is between runs (even version, read twice to be sure). */
    static PvclockTimeInfo readPvclock(GuestMemory memory) {
        for (int i = 0; i < 16; i++) {
            PvclockTimeInfo a = PvclockTimeInfo.decode(memory.read(ClockGuestAbi.PVCLOCK_GPA, PvclockTimeInfo.SIZE));
            PvclockTimeInfo b = PvclockTimeInfo.decode(memory.read(ClockGuestAbi.PVCLOCK_GPA, PvclockTimeInfo.SIZE));
            if (a.equals(b) && (a.version() & 1) == 0) {
                return a;
            }
        }
        throw new IllegalStateException("the guest's pvclock kept changing while the vCPU was stopped");
    }
}
