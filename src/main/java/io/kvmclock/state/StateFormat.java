package io.kvmclock.state;

import io.kvmclock.hv.ClockCapabilities;
import io.kvmclock.hv.ClockData;
import io.kvmclock.hv.HostClocks;
import io.kvmclock.hv.HostInfo;
import io.kvmclock.state.StateFormatException.Reason;
import io.kvmclock.time.PvclockTimeInfo;
import io.kvmclock.time.TscRate;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.zip.CRC32C;

/**
 * The kvmclock clock-state file, version 1.2. All integers little endian; u64 values are exact (held in Java
 * longs, printed unsigned).
 *
 * <h2>Header (20 bytes)</h2>
 * <pre>
 * offset size field
 *  0     8    magic "KVMCLKST" (4b 56 4d 43 4c 4b 53 54)
 *  8     2    major version (u16) = 1
 * 10     2    minor version (u16) = 2
 * 12     4    payload length in bytes (u32), at most 16 MiB
 * 16     4    CRC32C (Castagnoli, java.util.zip.CRC32C) of the payload bytes (u32)
 * 20     n    payload
 * </pre>
 * The file ends exactly at 20 + n: bytes beyond are rejected. The CRC covers the payload only; a corrupt
 * header shows up as wrong magic, an unknown major, or a length that disagrees with the file size.
 *
 * <h2>Payload</h2>
 * A sequence of records, each a u32 body length followed by the body, then a u32 vCPU count before the vCPU
 * records. Offsets below are within a record body.
 * <pre>
 * capture record (25 bytes)
 *  0  1  capture kind (u8): 1 live update, 2 migration, 3 snapshot, 4 synthetic
 *  1  8  host TSC at capture (u64)
 *  9  8  host CLOCK_MONOTONIC_RAW at capture, ns (u64)
 * 17  8  host CLOCK_REALTIME at capture, ns since the epoch (s64)
 * host record (variable)
 *  0  8  host tsc_khz (u64), 1..10,000,000
 *  8  4  KVM_GET_API_VERSION (u32)
 * 12  s  boot id       } each string: u8 length, then that many bytes of UTF-8
 *     s  kernel release}
 *     s  clocksource   }
 *        -- added in 1.1 --
 *     1  capabilities known (u8): 0 or 1; when 0 the next 5 bytes are zero
 *     4  KVM_CAP_ADJUST_CLOCK flag mask (u32)
 *     1  capability bits (u8): bit 0 TSC_CONTROL, 1 VM_TSC_CONTROL, 2 KVMCLOCK_CTRL, 3 VCPU_ATTRIBUTES,
 *        4 KVM_[GS]ET_CLOCK_GUEST; bits 5-7 zero
 * clock record (28 bytes): KVM_GET_CLOCK, struct kvm_clock_data without its padding
 *  0  8  clock, ns (u64)
 *  8  4  flags (u32), kept verbatim: TSC_STABLE 2, REALTIME 4, HOST_TSC 8
 * 12  8  realtime, ns (u64)
 * 20  8  host_tsc (u64)
 * vCPU count (u32, not a record): 1..4096
 * vCPU record (70 bytes; 87 from 1.2), once per vCPU
 *  0  4  vCPU id (u32), 0..16383 (KVM_MAX_VCPU_IDS), distinct
 *  4  8  KVM_VCPU_TSC_OFFSET (u64)
 * 12  8  guest TSC, MSR IA32_TSC (u64)
 * 20  8  tsc_khz, KVM_GET_TSC_KHZ (u64), 1..10,000,000
 * 28  1  TSC scaling (u8): 0 none, 1 VMX (48 fractional bits), 2 SVM (32 fractional bits)
 * 29  8  scaling ratio (u64): 0 when none; else non-zero and below the hardware maximum
 * 37  1  pvclock source (u8): 0 not enabled by the guest, 1 KVM_GET_CLOCK_GUEST, 2 guest memory
 * 38 32  struct pvclock_vcpu_time_info exactly as in guest memory; all zero when not enabled; else even
 *        version, zero padding, mul non-zero, shift in -32..32
 *        -- added in 1.2 --
 * 70  1  KVM_VCPU_TSC_SCALE read (u8): 0 not available (6.18, no TSC control: ENXIO), 1 read from the kernel;
 *        when 0 the next 16 bytes are zero
 * 71  8  tsc_ratio (u64), non-zero when read
 * 79  8  tsc_frac_bits (u64), 0..63 when read; a reading with the ratio 1.0 goes with scaling 0 (none), one
 *        with 48 or 32 fractional bits with scaling 1 or 2 and the same ratio
 * </pre>
 *
 * <h2>Versions</h2>
 * 1.0: the layout above without the 1.1 host fields. 1.1: the source's clock capabilities appended to the
 * host record. 1.2: each vCPU's KVM_VCPU_TSC_SCALE reading appended to its vCPU record (a 1.0 or 1.1 file
 * reads as not read). A minor version only appends fields at the end of a record, or data at the end of the
 * payload; any other change is a new major.
 * <ul>
 * <li>Same major, older or equal minor: read exactly; a record must end where its fields end. Fields a 1.0
 *     file lacks read as unknown ({@link ClockState#capabilities()} empty).</li>
 * <li>Same major, newer minor: read too, because by the rule above everything it adds is appended: the
 *     bytes after the fields this build knows, in each record and at the end of the payload, are skipped.
 *     {@link ClockState#format()} keeps the file's version so a caller can say that fields were skipped.</li>
 * <li>Another major: rejected, naming both versions.</li>
 * </ul>
 */
public final class StateFormat {
    private StateFormat() {}

    static final byte[] MAGIC = "KVMCLKST".getBytes(StandardCharsets.US_ASCII);
    public static final int HEADER_SIZE = 20;
    public static final int MAX_PAYLOAD = 16 << 20;
    static final int CAPTURE_SIZE = 25;
    static final int CLOCK_SIZE = 28;
    static final int VCPU_SIZE = 70;
    static final int SCALE_SIZE_1_2 = 17;
    static final int CAPS_SIZE_1_1 = 6;
    private static final int KNOWN_CAP_BITS = 0x1F;

    /** Encodes at {@link FormatVersion#CURRENT}. */
    public static byte[] encode(ClockState s) {
        return encode(s, FormatVersion.CURRENT);
    }

    /**
     * Encodes for a reader of {@code target}, which must be this major and at most this build's minor; fields
     * the target minor cannot hold are dropped (so a rolled-back, older kvmclock can read the file).
     */
    public static byte[] encode(ClockState s, FormatVersion target) {
        if (target.major() != FormatVersion.CURRENT.major() || target.minor() > FormatVersion.CURRENT.minor()) {
            throw new IllegalArgumentException("cannot write format " + target + ": this build writes "
                    + FormatVersion.CURRENT.major() + ".0 to " + FormatVersion.CURRENT);
        }
        ByteBuffer p = ByteBuffer.allocate(payloadBound(s)).order(ByteOrder.LITTLE_ENDIAN);

        int mark = beginRecord(p);
        p.put((byte) s.capture().kind().code());
        HostClocks at = s.capture().at();
        p.putLong(at.tsc()).putLong(at.monotonicRawNs()).putLong(at.realtimeNs());
        endRecord(p, mark);

        mark = beginRecord(p);
        HostInfo h = s.host();
        p.putLong(h.tscKhz()).putInt(h.kvmApiVersion());
        putString(p, h.bootId());
        putString(p, h.kernel());
        putString(p, h.clocksource());
        if (target.minor() >= 1) {
            Optional<ClockCapabilities> caps = s.capabilities();
            p.put((byte) (caps.isPresent() ? 1 : 0));
            p.putInt(caps.map(ClockCapabilities::adjustClockFlags).orElse(0));
            p.put((byte) caps.map(StateFormat::capBits).orElse(0).intValue());
        }
        endRecord(p, mark);

        mark = beginRecord(p);
        ClockData c = s.clock();
        p.putLong(c.clock()).putInt(c.flags()).putLong(c.realtime()).putLong(c.hostTsc());
        endRecord(p, mark);

        p.putInt(s.vcpus().size());
        for (VcpuClockState v : s.vcpus()) {
            mark = beginRecord(p);
            p.putInt(v.id()).putLong(v.tscOffset()).putLong(v.guestTsc()).putLong(v.tscKhz());
            p.put((byte) TscRateCode.code(v.scaling())).putLong(TscRateCode.storedRatio(v.scaling()));
            p.put((byte) v.pvclock().code());
            p.put(switch (v.pvclock()) {
                case GuestPvclock.NotEnabled n -> new byte[PvclockTimeInfo.SIZE];
                case GuestPvclock.Captured cap -> cap.pvclock().encode();
            });
            if (target.minor() >= 2) {
                p.put((byte) v.kernelScale().code()).putLong(v.kernelScale().storedRatio())
                        .putLong(v.kernelScale().storedFracBits());
            }
            endRecord(p, mark);
        }
        return frame(target, Arrays.copyOf(p.array(), p.position()));
    }

    /** Header plus payload: used by {@link #encode} and by tests that build files of other versions. */
    static byte[] frame(FormatVersion version, byte[] payload) {
        CRC32C crc = new CRC32C();
        crc.update(payload);
        ByteBuffer f = ByteBuffer.allocate(HEADER_SIZE + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        f.put(MAGIC).putShort((short) version.major()).putShort((short) version.minor())
                .putInt(payload.length).putInt((int) crc.getValue()).put(payload);
        return f.array();
    }

    private static int payloadBound(ClockState s) {
        int strings = 3 * (1 + ClockState.MAX_STRING_BYTES);
        return 4 + CAPTURE_SIZE + 4 + 12 + strings + CAPS_SIZE_1_1 + 4 + CLOCK_SIZE + 4
                + s.vcpus().size() * (4 + VCPU_SIZE + SCALE_SIZE_1_2);
    }

    private static int beginRecord(ByteBuffer p) {
        int mark = p.position();
        p.putInt(0);
        return mark;
    }

    private static void endRecord(ByteBuffer p, int mark) {
        p.putInt(mark, p.position() - mark - 4);
    }

    private static void putString(ByteBuffer p, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        p.put((byte) b.length).put(b);
    }

    private static int capBits(ClockCapabilities c) {
        return (c.tscControl() ? 1 : 0) | (c.vmTscControl() ? 2 : 0) | (c.kvmclockCtrl() ? 4 : 0)
                | (c.vcpuAttributes() ? 8 : 0) | (c.clockGuest() ? 16 : 0);
    }

    /** The header fields, once the magic has been checked. */
    public record Header(FormatVersion version, long payloadLength, int crc32c) {}

    /** Reads a whole file's bytes; every problem is a {@link StateFormatException} naming it. */
    public static ClockState decode(byte[] file) {
        Header h = header(file);
        long end = HEADER_SIZE + h.payloadLength();
        if (file.length < end) {
            throw new StateFormatException(Reason.TRUNCATED_PAYLOAD, "truncated: the header declares a "
                    + h.payloadLength() + "-byte payload but only " + (file.length - HEADER_SIZE) + " bytes follow it");
        }
        if (file.length > end) {
            throw new StateFormatException(Reason.TRAILING_GARBAGE, (file.length - end)
                    + " bytes of trailing garbage after the " + h.payloadLength() + "-byte payload the header declares");
        }
        CRC32C crc = new CRC32C();
        crc.update(file, HEADER_SIZE, (int) h.payloadLength());
        int found = (int) crc.getValue();
        if (found != h.crc32c()) {
            throw new StateFormatException(Reason.CRC_MISMATCH, String.format(
                    "CRC32C mismatch: the header says 0x%08x, the payload's is 0x%08x (the file is corrupt)",
                    h.crc32c(), found));
        }
        ByteBuffer payload = ByteBuffer.wrap(file, HEADER_SIZE, (int) h.payloadLength()).slice()
                .order(ByteOrder.LITTLE_ENDIAN);
        return payload(h.version(), payload);
    }

    /** Checks and reads the 20-byte header: size, magic, major, declared length. */
    public static Header header(byte[] file) {
        if (file.length == 0) {
            throw new StateFormatException(Reason.EMPTY, "the file is empty (0 bytes): not a kvmclock state file");
        }
        int n = Math.min(file.length, MAGIC.length);
        if (!Arrays.equals(file, 0, n, MAGIC, 0, n)) {
            throw new StateFormatException(Reason.BAD_MAGIC, "not a kvmclock state file" + sniff(file));
        }
        if (file.length < HEADER_SIZE) {
            throw new StateFormatException(Reason.TRUNCATED_HEADER, "truncated: " + file.length
                    + " bytes, shorter than the " + HEADER_SIZE + "-byte header");
        }
        ByteBuffer b = ByteBuffer.wrap(file, 0, HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.position(MAGIC.length);
        FormatVersion v = new FormatVersion(Short.toUnsignedInt(b.getShort()), Short.toUnsignedInt(b.getShort()));
        long length = Integer.toUnsignedLong(b.getInt());
        int crc = b.getInt();
        FormatVersion cur = FormatVersion.CURRENT;
        if (v.major() > cur.major()) {
            throw new StateFormatException(Reason.NEWER_MAJOR, "format " + v + " is newer than this build reads ("
                    + cur.major() + ".x, up to " + cur + "): use a newer kvmclock");
        }
        if (v.major() < cur.major()) {
            throw new StateFormatException(Reason.OLDER_MAJOR, "format " + v + " is a major version this build does not read ("
                    + cur.major() + ".x, up to " + cur + ")");
        }
        if (length > MAX_PAYLOAD) {
            throw new StateFormatException(Reason.TOO_LARGE, "the header declares a " + length
                    + "-byte payload, more than any clock state needs (limit " + MAX_PAYLOAD + ")");
        }
        return new Header(v, length, crc);
    }

    /** What a file that is not ours looks like, for the error message. */
    static String sniff(byte[] f) {
        if (startsWith(f, 0x7f, 'E', 'L', 'F')) {
            return ": it is an ELF binary";
        }
        if (startsWith(f, 0x1f, 0x8b)) {
            return ": it is gzip-compressed (decompress it first)";
        }
        if (startsWith(f, 'P', 'K', 3, 4)) {
            return ": it is a zip archive";
        }
        if (startsWith(f, 'Q', 'E', 'V', 'M')) {
            return ": it is a QEMU migration stream";
        }
        if (startsWith(f, 0xca, 0xfe, 0xba, 0xbe)) {
            return ": it is a Java class file";
        }
        int i = 0;
        if (startsWith(f, 0xef, 0xbb, 0xbf)) {
            i = 3;
        }
        while (i < f.length && (f[i] == ' ' || f[i] == '\t' || f[i] == '\n' || f[i] == '\r')) {
            i++;
        }
        if (i < f.length && (f[i] == '{' || f[i] == '[')) {
            return ": it looks like JSON (state files are binary; 'state show --json' output cannot be read back)";
        }
        if (looksLikeText(f)) {
            return ": it is a text file";
        }
        return String.format(": it starts with %s", hexPrefix(f));
    }

    private static boolean startsWith(byte[] f, int... prefix) {
        if (f.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((f[i] & 0xff) != prefix[i]) {
                return false;
            }
        }
        return true;
    }

    private static boolean looksLikeText(byte[] f) {
        for (int i = 0; i < Math.min(f.length, 512); i++) {
            int c = f[i] & 0xff;
            if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7f) {
                return false;
            }
        }
        return true;
    }

    private static String hexPrefix(byte[] f) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < Math.min(8, f.length); i++) {
            b.append(String.format("%02x ", f[i] & 0xff));
        }
        return b.toString().trim();
    }

    private static ClockState payload(FormatVersion v, ByteBuffer p) {
        boolean newer = v.minor() > FormatVersion.CURRENT.minor();

        Fields r = Fields.record(p, "capture record");
        CaptureKind kind = CaptureKind.ofCode(r.u8("capture kind"));
        Capture capture = new Capture(kind, new HostClocks(r.u64("host TSC"), r.u64("monotonic raw"), r.u64("realtime")));
        r.end(newer);

        r = Fields.record(p, "host record");
        long tscKhz = r.u64("host tsc_khz");
        long api = r.u32("KVM API version");
        String bootId = r.string("host boot id");
        String kernel = r.string("host kernel");
        String clocksource = r.string("host clocksource");
        Optional<ClockCapabilities> caps = Optional.empty();
        if (v.minor() >= 1) {
            int known = r.u8("capabilities-known flag");
            long adjust = r.u32("KVM_CAP_ADJUST_CLOCK flags");
            int bits = r.u8("capability bits");
            if (known > 1) {
                throw new StateFormatException(Reason.UNKNOWN_CODE, "capabilities-known flag " + known + " is not 0 or 1");
            }
            if ((bits & ~KNOWN_CAP_BITS) != 0) {
                throw new StateFormatException(Reason.UNKNOWN_CODE,
                        String.format("capability bits 0x%02x include undefined bits 0x%02x", bits, bits & ~KNOWN_CAP_BITS));
            }
            if (known == 1) {
                caps = Optional.of(new ClockCapabilities((int) adjust, (bits & 1) != 0, (bits & 2) != 0,
                        (bits & 4) != 0, (bits & 8) != 0, (bits & 16) != 0));
            } else if (adjust != 0 || bits != 0) {
                throw new StateFormatException(Reason.UNKNOWN_CODE, "capabilities are marked unknown but their fields are not zero");
            }
        }
        r.end(newer);
        if (api > Integer.MAX_VALUE) {
            throw new StateFormatException(Reason.UNKNOWN_CODE, "KVM API version " + api + " is out of range");
        }
        VcpuClockState.checkTscKhz("host tsc_khz", tscKhz);
        HostInfo host = new HostInfo(kernel, (int) api, tscKhz, clocksource, bootId);

        r = Fields.record(p, "clock record");
        ClockData clock = new ClockData(r.u64("clock"), (int) r.u32("clock flags"), r.u64("clock realtime"),
                r.u64("clock host_tsc"));
        r.end(newer);

        Fields top = new Fields(p, "payload");
        long count = top.u32("vCPU count");
        if (count == 0 || count > ClockState.MAX_VCPUS) {
            throw new StateFormatException(Reason.VCPU_COUNT_OUT_OF_RANGE,
                    "vCPU count " + count + " is outside 1.." + ClockState.MAX_VCPUS);
        }
        List<VcpuClockState> vcpus = new ArrayList<>((int) count);
        for (int i = 0; i < count; i++) {
            r = Fields.record(p, "vCPU record #" + i);
            long id = r.u32("vCPU id");
            long offset = r.u64("TSC offset");
            long guestTsc = r.u64("guest TSC");
            long khz = r.u64("vCPU tsc_khz");
            int scalingCode = r.u8("TSC scaling");
            long ratio = r.u64("scaling ratio");
            int source = r.u8("pvclock source");
            byte[] pv = r.bytes(PvclockTimeInfo.SIZE, "pvclock");
            int scaleCode = 0;
            long kernelRatio = 0;
            long kernelFracBits = 0;
            if (v.minor() >= 2) {
                scaleCode = r.u8("KVM_VCPU_TSC_SCALE read flag");
                kernelRatio = r.u64("KVM_VCPU_TSC_SCALE tsc_ratio");
                kernelFracBits = r.u64("KVM_VCPU_TSC_SCALE tsc_frac_bits");
            }
            r.end(newer);
            if (id >= VcpuClockState.MAX_ID_EXCLUSIVE) {
                throw new StateFormatException(Reason.VCPU_COUNT_OUT_OF_RANGE, "vCPU id " + id
                        + " is outside 0.." + (VcpuClockState.MAX_ID_EXCLUSIVE - 1) + " (KVM_MAX_VCPU_IDS)");
            }
            TscRate scaling;
            GuestPvclock pvclock;
            ScaleReading kernelScale;
            try {
                scaling = TscRateCode.decode(scalingCode, ratio);
                pvclock = GuestPvclock.of(source, PvclockTimeInfo.decode(pv));
                kernelScale = ScaleReading.of(scaleCode, kernelRatio, kernelFracBits);
            } catch (StateFormatException e) {
                throw new StateFormatException(e.reason(), "vCPU " + id + ": " + e.getMessage());
            }
            vcpus.add(new VcpuClockState((int) id, offset, guestTsc, khz, scaling, pvclock, kernelScale));
        }
        if (p.hasRemaining() && !newer) {
            throw new StateFormatException(Reason.TRAILING_GARBAGE, p.remaining()
                    + " bytes of trailing garbage inside the payload after the last vCPU record");
        }
        return new ClockState(v, capture, host, caps, clock, vcpus);
    }

    /** Bounded little-endian reads with the record's name in every error. */
    private static final class Fields {
        private final ByteBuffer b;
        private final String name;

        Fields(ByteBuffer b, String name) {
            this.b = b;
            this.name = name;
        }

        static Fields record(ByteBuffer payload, String name) {
            if (payload.remaining() < 4) {
                throw new StateFormatException(Reason.BAD_RECORD_LENGTH,
                        "the payload ends before the " + name + " (" + payload.remaining() + " bytes left)");
            }
            long len = Integer.toUnsignedLong(payload.getInt());
            if (len > payload.remaining()) {
                throw new StateFormatException(Reason.BAD_RECORD_LENGTH, "the " + name + " declares " + len
                        + " bytes but only " + payload.remaining() + " remain in the payload");
            }
            ByteBuffer body = payload.slice(payload.position(), (int) len).order(ByteOrder.LITTLE_ENDIAN);
            payload.position(payload.position() + (int) len);
            return new Fields(body, name);
        }

        private StateFormatException shortBy(String field) {
            return new StateFormatException(Reason.BAD_RECORD_LENGTH,
                    "the " + name + " is too short: it ends inside its " + field + " field");
        }

        int u8(String field) {
            try {
                return Byte.toUnsignedInt(b.get());
            } catch (BufferUnderflowException e) {
                throw shortBy(field);
            }
        }

        long u32(String field) {
            try {
                return Integer.toUnsignedLong(b.getInt());
            } catch (BufferUnderflowException e) {
                throw shortBy(field);
            }
        }

        long u64(String field) {
            try {
                return b.getLong();
            } catch (BufferUnderflowException e) {
                throw shortBy(field);
            }
        }

        byte[] bytes(int n, String field) {
            if (b.remaining() < n) {
                throw shortBy(field);
            }
            byte[] out = new byte[n];
            b.get(out);
            return out;
        }

        String string(String field) {
            int len = u8(field + " length");
            byte[] raw = bytes(len, field);
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
            } catch (CharacterCodingException e) {
                throw new StateFormatException(Reason.BAD_STRING, field + " is not valid UTF-8 (" + hexOf(raw) + ")");
            }
        }

        private static String hexOf(byte[] raw) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < Math.min(raw.length, 16); i++) {
                s.append(String.format("%02x", raw[i] & 0xff));
            }
            return s + (raw.length > 16 ? "..." : "");
        }

        /** A same-or-older minor's record ends where its fields do; a newer minor may have appended fields. */
        void end(boolean newerMinor) {
            if (b.hasRemaining() && !newerMinor) {
                throw new StateFormatException(Reason.BAD_RECORD_LENGTH, "the " + name + " has " + b.remaining()
                        + " bytes after its last field");
            }
        }
    }
}
