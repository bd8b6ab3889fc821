package io.kvmclock.peer.qemu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class FirmwareTest {

    @Test
    void imageIs64KiBWithAFarJumpAtTheResetVector() {
        byte[] img = Firmware.image();
        assertEquals(65536, img.length);
        // jmp far F000:0000 at 0xFFF0: where the CPU starts (CS base 0xFFFF0000 + IP 0xFFF0)
        assertArrayEquals(new byte[] {(byte) 0xEA, 0, 0, 0, (byte) 0xF0}, Arrays.copyOfRange(img, 0xFFF0, 0xFFF5));
        // the code starts with cli and enables kvmclock: mov ecx, 0x4b564d01 (MSR_KVM_SYSTEM_TIME_NEW) ... wrmsr
        assertEquals((byte) 0xFA, img[0]);
        int at = indexOf(img, new byte[] {0x66, (byte) 0xB9, 0x01, 0x4D, 0x56, 0x4B});
        assertEquals(true, at > 0, "mov ecx, MSR_KVM_SYSTEM_TIME_NEW");
        assertEquals(true, indexOf(img, new byte[] {0x0F, 0x30}) > at, "wrmsr after it");
    }

    @Test
    void theGapThresholdIsAnImmediateOfTheImage() {
        byte[] a = Firmware.image(1L << 20);
        byte[] b = Firmware.image(12345);
        assertEquals(true, indexOf(b, new byte[] {0x39, 0x30, 0, 0}) > 0, "12345 little endian");
        assertEquals(false, Arrays.equals(a, b));
        assertThrows(IllegalArgumentException.class, () -> Firmware.image(0));
    }

    @Test
    void theDataLayoutFitsBelow64KiBWithoutOverlap() {
        assertEquals(true, Firmware.PVCLOCK_GPA + 32 <= Firmware.HEADER_GPA);
        assertEquals(true, Firmware.HEADER_GPA + Firmware.HEADER_SIZE <= 0x2100);
        assertEquals(true, Firmware.EVENTS_GPA + Firmware.EVENT_SLOTS * Firmware.EVENT_SIZE <= 0xF000 - 0x100,
                "events end below the stack");
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
