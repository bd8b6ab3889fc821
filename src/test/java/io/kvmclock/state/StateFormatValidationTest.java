package io.kvmclock.state;

import static io.kvmclock.RecordedHosts.AMD_KHZ;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kvmclock.hv.HostInfo;
import io.kvmclock.state.StateFormatException.Reason;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Every way a file can be bad, each rejected with its own reason and a message naming it. */
class StateFormatValidationTest {

    private static final byte[] GOOD = StateFormat.encode(SampleState.create(2, AMD_KHZ, AMD_KHZ));

    private static StateFormatException rejected(byte[] file, Reason reason, String... fragments) {
        StateFormatException e = assertThrows(StateFormatException.class, () -> StateFormat.decode(file));
        assertEquals(reason, e.reason(), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    private static byte[] tampered(Consumer<Layout> change) {
        Layout l = Layout.sample();
        change.accept(l);
        return l.file();
    }

    private static byte[] withHeader(int offset, int u16OrU32, int size) {
        byte[] f = GOOD.clone();
        ByteBuffer b = ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
        if (size == 2) {
            b.putShort(offset, (short) u16OrU32);
        } else {
            b.putInt(offset, u16OrU32);
        }
        return f;
    }

    @Test
    void theDocumentedLayoutIsTheEncoders() {
        assertArrayEquals(GOOD, Layout.sample().file());
        assertEquals(SampleState.create(2, AMD_KHZ, AMD_KHZ), StateFormat.decode(Layout.sample().file()));
    }

    @Test
    void empty() {
        rejected(new byte[0], Reason.EMPTY, "empty");
    }

    @Test
    void truncatedHeader() {
        rejected(Arrays.copyOf(GOOD, 12), Reason.TRUNCATED_HEADER, "12 bytes", "20-byte header");
        rejected(Arrays.copyOf(GOOD, 5), Reason.TRUNCATED_HEADER, "5 bytes");
    }

    @Test
    void truncatedPayload() {
        int payload = GOOD.length - StateFormat.HEADER_SIZE;
        rejected(Arrays.copyOf(GOOD, GOOD.length - 1), Reason.TRUNCATED_PAYLOAD,
                payload + "-byte payload", "only " + (payload - 1) + " bytes");
    }

    @Test
    void wrongMagic() {
        byte[] f = GOOD.clone();
        f[3] = 'X';
        rejected(f, Reason.BAD_MAGIC, "not a kvmclock state file");
    }

    @Test
    void wrongMagicSaysWhatTheFileIs() {
        rejected("{\"format\": {\"major\": 1}}".getBytes(StandardCharsets.UTF_8), Reason.BAD_MAGIC,
                "not a kvmclock state file", "JSON");
        rejected(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                Reason.BAD_MAGIC, "ELF");
        rejected(new byte[] {(byte) 0x1f, (byte) 0x8b, 8, 0}, Reason.BAD_MAGIC, "gzip");
        rejected("QEVM\0\0\0\3".getBytes(StandardCharsets.ISO_8859_1), Reason.BAD_MAGIC, "QEMU migration stream");
        rejected("hello world\n".getBytes(StandardCharsets.UTF_8), Reason.BAD_MAGIC, "text file");
        rejected(new byte[] {0, 1, 2, (byte) 0xff, 0, 0, 0, 0, 9}, Reason.BAD_MAGIC, "00 01 02 ff");
    }

    @Test
    void newerMajor() {
        rejected(withHeader(8, 2, 2), Reason.NEWER_MAJOR, "format 2." + FormatVersion.CURRENT.minor(), "newer than this build reads",
                "1.x, up to " + FormatVersion.CURRENT);
    }

    @Test
    void olderMajor() {
        rejected(withHeader(8, 0, 2), Reason.OLDER_MAJOR, "format 0." + FormatVersion.CURRENT.minor());
    }

    @Test
    void absurdPayloadLength() {
        rejected(withHeader(12, 0x7fff_ffff, 4), Reason.TOO_LARGE, "2147483647-byte payload");
    }

    @Test
    void crcMismatch() {
        byte[] f = GOOD.clone();
        int found = crcOf(f);
        f[StateFormat.HEADER_SIZE + 40] ^= 0x10;
        int now = crcOf(f);
        rejected(f, Reason.CRC_MISMATCH, String.format("0x%08x", found), String.format("0x%08x", now));
    }

    private static int crcOf(byte[] f) {
        var c = new java.util.zip.CRC32C();
        c.update(f, StateFormat.HEADER_SIZE, f.length - StateFormat.HEADER_SIZE);
        return (int) c.getValue();
    }

    @Test
    void crcInTheHeaderIsChecked() {
        byte[] f = GOOD.clone();
        f[16] ^= 1;
        rejected(f, Reason.CRC_MISMATCH, "CRC32C");
    }

    @Test
    void trailingGarbageAfterTheDeclaredLength() {
        byte[] f = Arrays.copyOf(GOOD, GOOD.length + 3);
        rejected(f, Reason.TRAILING_GARBAGE, "3 bytes of trailing garbage");
    }

    @Test
    void trailingGarbageInsideThePayloadOfTheCurrentMinor() {
        rejected(tampered(l -> l.payloadTail = new byte[] {1, 2}), Reason.TRAILING_GARBAGE, "inside the payload");
    }

    @Test
    void recordLongerThanItsFieldsInTheCurrentMinor() {
        rejected(tampered(l -> l.recordTail = new byte[] {0}), Reason.BAD_RECORD_LENGTH,
                "capture record has 1 bytes after its last field");
    }

    @Test
    void recordShorterThanItsFields() {
        rejected(tampered(l -> l.vcpuLengthDelta = -1), Reason.BAD_RECORD_LENGTH, "vCPU record #0 is too short", "KVM_VCPU_TSC_SCALE tsc_frac_bits");
    }

    @Test
    void recordLongerThanThePayload() {
        rejected(tampered(l -> l.vcpuLengthDelta = 1000), Reason.BAD_RECORD_LENGTH, "vCPU record #0 declares 1087 bytes");
    }

    @Test
    void pvclockMulZero() {
        rejected(tampered(l -> {
            for (int i = 24; i < 28; i++) {
                l.pvclockByte(1, i, 0);
            }
        }), Reason.PVCLOCK_MUL_ZERO, "vCPU 1", "tsc_to_system_mul is 0");
    }

    @Test
    void pvclockShiftOutsideMinus32To32() {
        rejected(tampered(l -> l.pvclockByte(0, 28, 33)), Reason.PVCLOCK_SHIFT_OUT_OF_RANGE, "vCPU 0", "tsc_shift 33");
        rejected(tampered(l -> l.pvclockByte(0, 28, -33)), Reason.PVCLOCK_SHIFT_OUT_OF_RANGE, "tsc_shift -33");
    }

    @Test
    void pvclockShiftAtTheBoundsIsAccepted() {
        for (int shift : new int[] {-32, 32}) {
            ClockState s = StateFormat.decode(tampered(l -> l.pvclockByte(0, 28, shift)));
            assertEquals(shift, ((GuestPvclock.Captured) s.vcpus().getFirst().pvclock()).pvclock().shift());
        }
    }

    @Test
    void pvclockPaddingNonZero() {
        rejected(tampered(l -> l.pvclockByte(0, 5, 1)), Reason.PVCLOCK_PADDING, "pad0 0x00000100");
        rejected(tampered(l -> l.pvclockByte(1, 31, 0x80)), Reason.PVCLOCK_PADDING, "vCPU 1", "pad 0x8000");
    }

    @Test
    void pvclockOddVersion() {
        rejected(tampered(l -> l.pvclockByte(0, 0, 5)), Reason.PVCLOCK_TORN, "version 5 is odd");
    }

    @Test
    void pvclockBytesForAVcpuWithoutKvmclock() {
        rejected(tampered(l -> l.vcpus.get(0).source = 0), Reason.PVCLOCK_PADDING, "not enabled");
    }

    @Test
    void zeroTscKhz() {
        rejected(tampered(l -> l.hostKhz = 0), Reason.TSC_KHZ_OUT_OF_RANGE, "host tsc_khz is 0");
        rejected(tampered(l -> l.vcpus.get(1).khz = 0), Reason.TSC_KHZ_OUT_OF_RANGE, "vCPU 1: tsc_khz is 0");
    }

    @Test
    void absurdTscKhz() {
        rejected(tampered(l -> l.vcpus.get(0).khz = -1), Reason.TSC_KHZ_OUT_OF_RANGE, "18446744073709551615");
    }

    @Test
    void vcpuCountZero() {
        rejected(tampered(l -> {
            l.vcpus.clear();
            l.vcpuCount = 0L;
        }), Reason.VCPU_COUNT_OUT_OF_RANGE, "vCPU count 0");
    }

    @Test
    void vcpuCountAbsurd() {
        rejected(tampered(l -> l.vcpuCount = 0xFFFF_FFFFL), Reason.VCPU_COUNT_OUT_OF_RANGE, "vCPU count 4294967295");
        rejected(tampered(l -> l.vcpuCount = 4097L), Reason.VCPU_COUNT_OUT_OF_RANGE, "4097");
    }

    @Test
    void vcpuCountLargerThanTheRecordsPresent() {
        rejected(tampered(l -> l.vcpuCount = 3L), Reason.BAD_RECORD_LENGTH, "before the vCPU record #2");
    }

    @Test
    void vcpuIdOutOfRange() {
        rejected(tampered(l -> l.vcpus.get(1).id = 16384), Reason.VCPU_COUNT_OUT_OF_RANGE, "vCPU id 16384");
    }

    @Test
    void duplicateVcpuIds() {
        rejected(tampered(l -> l.vcpus.get(1).id = 0), Reason.DUPLICATE_VCPU_ID, "vCPU id 0 appears twice");
    }

    @Test
    void unknownEnumCodes() {
        rejected(tampered(l -> l.captureKind = 9), Reason.UNKNOWN_CODE, "capture kind code 9");
        rejected(tampered(l -> l.captureKind = 0), Reason.UNKNOWN_CODE, "capture kind code 0");
        rejected(tampered(l -> l.vcpus.get(0).scaling = 3), Reason.UNKNOWN_CODE, "vCPU 0", "TSC scaling code 3");
        rejected(tampered(l -> l.vcpus.get(1).source = 7), Reason.UNKNOWN_CODE, "vCPU 1", "pvclock source code 7");
        rejected(tampered(l -> l.capBits = 0x20), Reason.UNKNOWN_CODE, "undefined bits 0x20");
        rejected(tampered(l -> l.capsKnown = 2), Reason.UNKNOWN_CODE, "capabilities-known flag 2");
        rejected(tampered(l -> {
            l.capsKnown = 0;
            l.adjust = 14;
        }), Reason.UNKNOWN_CODE, "marked unknown");
        rejected(tampered(l -> l.api = 0x8000_0000L), Reason.UNKNOWN_CODE, "KVM API version 2147483648");
    }

    @Test
    void scalingRatioImpossible() {
        rejected(tampered(l -> l.vcpus.get(0).ratio = 5), Reason.BAD_SCALING_RATIO, "scaling is none", "0x5");
        rejected(tampered(l -> l.vcpus.get(0).scaling = 1), Reason.BAD_SCALING_RATIO, "0x0", "VMX");
        rejected(tampered(l -> {
            l.vcpus.get(0).scaling = 1;
            l.vcpus.get(0).ratio = -1L; // set_tsc_khz refuses ratio >= KVM_VMX_TSC_MULTIPLIER_MAX (~0ULL)
        }), Reason.BAD_SCALING_RATIO, "0xffffffffffffffff", "VMX");
        rejected(tampered(l -> {
            l.vcpus.get(0).scaling = 2;
            l.vcpus.get(0).ratio = 1L << 40;
        }), Reason.BAD_SCALING_RATIO, "SVM");
    }

    /** Format 1.2's KVM_VCPU_TSC_SCALE fields: each inconsistency named. */
    @Test
    void kernelScaleReadingChecked() {
        rejected(tampered(l -> l.vcpus.get(0).scaleRead = 2), Reason.UNKNOWN_CODE, "vCPU 0", "KVM_VCPU_TSC_SCALE code 2");
        rejected(tampered(l -> l.vcpus.get(0).scaleRatio = 7), Reason.BAD_SCALING_RATIO, "marked not read");
        rejected(tampered(l -> {
            l.vcpus.get(0).scaleRead = 1;
            l.vcpus.get(0).scaleFracBits = 64;
        }), Reason.BAD_SCALING_RATIO, "tsc_frac_bits 64");
        rejected(tampered(l -> {
            l.vcpus.get(0).scaleRead = 1;
            l.vcpus.get(0).scaleFracBits = 48;
        }), Reason.BAD_SCALING_RATIO, "tsc_ratio is 0");
        rejected(tampered(l -> {
            // the kernel says 2.0 with VMX bits, the recorded scaling says none
            l.vcpus.get(0).scaleRead = 1;
            l.vcpus.get(0).scaleRatio = 2L << 48;
            l.vcpus.get(0).scaleFracBits = 48;
        }), Reason.BAD_SCALING_RATIO, "disagrees");
    }

    @Test
    void aReadingThatAgreesIsKeptAndOlderMinorsHaveNone() {
        Layout l = Layout.sample();
        l.vcpus.get(0).scaleRead = 1;
        l.vcpus.get(0).scaleRatio = 1L << 32; // 1.0 with SVM's bits: a vCPU at the host rate, scaling none
        l.vcpus.get(0).scaleFracBits = 32;
        ClockState s = StateFormat.decode(l.file());
        assertEquals(new ScaleReading.FromKernel(new io.kvmclock.hv.TscScale(1L << 32, 32)), s.vcpus().get(0).kernelScale());
        assertEquals(new ScaleReading.NotRead(), s.vcpus().get(1).kernelScale());
        assertEquals(new ScaleReading.NotRead(), StateFormat.decode(l.file(1, 1)).vcpus().get(0).kernelScale(),
                "a 1.1 file has no reading");
    }

    @Test
    void stringNotUtf8() {
        rejected(tampered(l -> l.kernel = new byte[] {'6', '.', (byte) 0xc3, '(', '1'}), Reason.BAD_STRING,
                "host kernel is not valid UTF-8", "362ec328");
    }

    @Test
    void stringLengthBeyondItsRecord() {
        Layout l = Layout.sample();
        byte[] payload = l.payload(1);
        int clocksourceLength = 4 + 25 + 4 + 12 + 1 + l.bootId.length + 1 + l.kernel.length;
        assertEquals(3, payload[clocksourceLength]);
        payload[clocksourceLength] = (byte) 200;
        rejected(StateFormat.frame(FormatVersion.CURRENT, payload), Reason.BAD_RECORD_LENGTH,
                "host record is too short", "host clocksource");
    }

    @Test
    void stringTooLongCannotBeBuilt() {
        ClockState s = SampleState.create(1, AMD_KHZ, AMD_KHZ);
        HostInfo longKernel = new HostInfo("é".repeat(128), 12, AMD_KHZ, "tsc", "x");
        StateFormatException e = assertThrows(StateFormatException.class, () -> new ClockState(s.format(),
                s.capture(), longKernel, s.capabilities(), s.clock(), s.vcpus()));
        assertEquals(Reason.BAD_STRING, e.reason());
        assertTrue(e.getMessage().contains("256 bytes"), e.getMessage());
    }

    @Test
    void invalidStatesCannotBeBuiltEither() {
        ClockState s = SampleState.create(2, AMD_KHZ, AMD_KHZ);
        StateFormatException dup = assertThrows(StateFormatException.class, () -> new ClockState(s.format(),
                s.capture(), s.host(), s.capabilities(), s.clock(), List.of(s.vcpus().get(0), s.vcpus().get(0))));
        assertEquals(Reason.DUPLICATE_VCPU_ID, dup.reason());
        StateFormatException none = assertThrows(StateFormatException.class, () -> new ClockState(s.format(),
                s.capture(), s.host(), s.capabilities(), s.clock(), List.of()));
        assertEquals(Reason.VCPU_COUNT_OUT_OF_RANGE, none.reason());
    }
}
