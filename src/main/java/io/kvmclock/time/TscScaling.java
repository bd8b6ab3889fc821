package io.kvmclock.time;

/**
 * Hardware TSC scaling: {@code guest_tsc = ((host_tsc * ratio) >> fracBits) + offset}, as in kvm_scale_tsc
 * and kvm_compute_l1_tsc_offset (arch/x86/kvm/x86.c).
 */
public enum TscScaling {
    /** Intel VMX TSC multiplier: 48 fractional bits, any 64-bit ratio (KVM_VMX_TSC_MULTIPLIER_MAX). */
    VMX(48, -1L),
    /** AMD SVM TSC ratio MSR: 32 fractional bits, 40 bits wide (SVM_TSC_RATIO_MAX). */
    SVM(32, 0x0000_00FF_FFFF_FFFFL);

    /** kvm's tsc_tolerance_ppm default: within this, KVM_SET_TSC_KHZ does not scale. */
    public static final int TOLERANCE_PPM = 250;

    private final int fracBits;
    private final long maxRatio;

    TscScaling(int fracBits, long maxRatio) {
        this.fracBits = fracBits;
        this.maxRatio = maxRatio;
    }

    public int fracBits() {
        return fracBits;
    }

    /** The ratio 1.0. */
    public long defaultRatio() {
        return 1L << fracBits;
    }

    public long maxRatio() {
        return maxRatio;
    }

    /** A ratio this hardware can be programmed with: non-zero and below its maximum (set_tsc_khz's check). */
    public boolean accepts(long ratio) {
        return ratio != 0 && Long.compareUnsigned(ratio, maxRatio) < 0;
    }

    /**
     * kvm_caps.max_guest_tsc_khz on a host at {@code hostKhz}: min(u32 max, scale(tsc_khz, max ratio)); VMX's
     * ratio has no bound below 2^64, so only the u32 one applies.
     */
    public long maxGuestKhz(long hostKhz) {
        return maxRatio == -1L ? 0xFFFF_FFFFL : Math.min(0xFFFF_FFFFL, U128.mulShr(hostKhz, maxRatio, fracBits));
    }

    /** kvm_scale_tsc: mul_u64_u64_shr(tsc, ratio, frac_bits). */
    public long scale(long tsc, long ratio) {
        return U128.mulShr(tsc, ratio, fracBits);
    }

    /**
     * set_tsc_khz: ratio = mul_u64_u32_div(1 << frac_bits, user_khz, host_khz), rejected when zero or not
     * below the hardware maximum.
     */
    public long ratio(long userKhz, long hostKhz) {
        if (userKhz <= 0 || hostKhz <= 0) {
            throw new IllegalArgumentException("TSC frequencies must be positive");
        }
        long ratio = U128.mulDiv(defaultRatio(), userKhz, hostKhz);
        if (!accepts(ratio)) {
            throw new IllegalArgumentException("TSC scaling ratio for " + userKhz + " kHz on a " + hostKhz
                    + " kHz host is outside what " + name() + " can do");
        }
        return ratio;
    }

    /** adjust_tsc_khz(khz, ppm): khz * (1e6 + ppm) / 1e6. */
    public static long adjustKhz(long khz, int ppm) {
        return U128.mulDiv(khz, 1_000_000L + ppm, 1_000_000L);
    }

    /** kvm_set_tsc_khz: scaling is used only outside tsc_tolerance_ppm of the host rate. */
    public static boolean needsScaling(long userKhz, long hostKhz, int tolerancePpm) {
        return userKhz < adjustKhz(hostKhz, -tolerancePpm) || userKhz > adjustKhz(hostKhz, tolerancePpm);
    }
}
