package io.kvmclock.sim;

import io.kvmclock.hv.ClockGuestAbi;
import io.kvmclock.hv.CpuState;
import io.kvmclock.hv.Errno;
import io.kvmclock.hv.HvException;
import io.kvmclock.hv.VcpuExit;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The guest side of a model vCPU: the clock guest of {@link ClockGuestAbi} by its effects, not x86. The first
 * entry writes MSR_KVM_SYSTEM_TIME_NEW, then each RDTSC is reported as two port writes, low half then high
 * half. Its registers are what KVM_GET/SET_REGS and SREGS carry, so a saved guest resumes where it stopped.
 */
final class ClockGuestProgram {
    static final int REGS_SIZE = 144;
    static final int SREGS_SIZE = 312;
    private static final int REG_RAX = 0;
    private static final int REG_RDX = 24;
    private static final int REG_RIP = 128;
    private static final int REG_RFLAGS = 136;

    /** Where the model's guest program is, encoded as the IP offset from the entry point in CpuState. */
    enum Pc {
        NOT_RESET(-1), WRMSR(0), RDTSC(0x0e), OUT_HI(0x14);

        final int ip;

        Pc(int ip) {
            this.ip = ip;
        }
    }

    private final SimVcpu vcpu;
    private Pc pc = Pc.NOT_RESET;
    private long entryGpa;
    private long heldTsc;

    ClockGuestProgram(SimVcpu vcpu) {
        this.vcpu = vcpu;
    }

    void reset(long entry) {
        entryGpa = entry;
        pc = entry == ClockGuestAbi.CODE_GPA ? Pc.WRMSR : Pc.NOT_RESET;
        heldTsc = 0;
    }

    CpuState save() {
        ByteBuffer regs = ByteBuffer.allocate(REGS_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        regs.putLong(REG_RAX, heldTsc & 0xFFFF_FFFFL);
        regs.putLong(REG_RDX, heldTsc >>> 32);
        regs.putLong(REG_RIP, pc == Pc.NOT_RESET ? 0xfff0 : (entryGpa & 0xffff) + pc.ip);
        regs.putLong(REG_RFLAGS, 2);
        ByteBuffer sregs = ByteBuffer.allocate(SREGS_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        long base = pc == Pc.NOT_RESET ? 0xffff0000L : entryGpa & ~0xffffL;
        sregs.putLong(0, base);
        sregs.putInt(8, 0xffff);
        sregs.putShort(12, (short) (base >>> 4));
        return new CpuState(regs.array(), sregs.array());
    }

    void restore(CpuState state) {
        if (state.regs().length != REGS_SIZE || state.sregs().length != SREGS_SIZE) {
            throw new HvException("KVM_SET_REGS", Errno.EINVAL.number(), "struct kvm_regs/kvm_sregs sizes are 144/312 bytes");
        }
        ByteBuffer regs = ByteBuffer.wrap(state.regs()).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer sregs = ByteBuffer.wrap(state.sregs()).order(ByteOrder.LITTLE_ENDIAN);
        long base = sregs.getLong(0);
        long ip = regs.getLong(REG_RIP);
        Pc found = Pc.NOT_RESET;
        for (Pc p : Pc.values()) {
            if (p != Pc.NOT_RESET && base + ip - p.ip == ClockGuestAbi.CODE_GPA) {
                found = p;
            }
        }
        pc = found;
        entryGpa = found == Pc.NOT_RESET ? 0 : ClockGuestAbi.CODE_GPA;
        heldTsc = (regs.getLong(REG_RAX) & 0xFFFF_FFFFL) | (regs.getLong(REG_RDX) << 32);
    }

    /** Runs the guest from where it is to its next exit (the vCPU has served its entry requests). */
    VcpuExit run() {
        switch (pc) {
            case NOT_RESET -> {
                return new VcpuExit.Other(17, "KVM_EXIT_INTERNAL_ERROR: the model runs only the clock guest at 0x"
                        + Long.toHexString(ClockGuestAbi.CODE_GPA) + "; call resetToRealMode first");
            }
            case WRMSR -> {
                vcpu.writeSystemTime(ClockGuestAbi.PVCLOCK_GPA | 1);
                vcpu.serveRequestsAtEntry();
                return rdtscAndOutLow();
            }
            case RDTSC -> {
                return rdtscAndOutLow();
            }
            case OUT_HI -> {
                pc = Pc.RDTSC;
                return new VcpuExit.IoOut(ClockGuestAbi.PORT_TSC_HI, 4, heldTsc >>> 32);
            }
            default -> throw new IllegalStateException();
        }
    }

    private VcpuExit rdtscAndOutLow() {
        heldTsc = vcpu.guestTsc();
        pc = Pc.OUT_HI;
        return new VcpuExit.IoOut(ClockGuestAbi.PORT_TSC_LO, 4, heldTsc & 0xFFFF_FFFFL);
    }
}
