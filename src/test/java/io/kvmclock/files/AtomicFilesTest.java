package io.kvmclock.files;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @Test
    void replacesTheFileWholeAndLeavesItReadable(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("report.html");
        AtomicFiles.write(f, "old");
        AtomicFiles.write(f, "new content");
        assertEquals("new content", Files.readString(f));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temp file left behind");
        }
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTempFile(@TempDir Path dir) throws IOException {
        Path f = Files.createDirectory(dir.resolve("occupied"));
        Files.writeString(f.resolve("keep"), "x");
        // renaming a file over a non-empty directory fails: the directory and its content stay
        assertThrows(IOException.class, () -> AtomicFiles.write(f, "new"));
        assertEquals("x", Files.readString(f.resolve("keep")));
        try (var s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temp file left behind");
        }
    }

    /** Real steps, failing at the {@code n}-th write or at any move whose source is a staged folder. */
    private static AtomicFiles.Io failing(int failWrite, boolean failStageMove) {
        int[] writes = {0};
        return new AtomicFiles.Io() {
            @Override
            public void write(java.nio.channels.FileChannel ch, java.nio.ByteBuffer data) throws IOException {
                if (++writes[0] == failWrite) {
                    ch.write(data.slice(0, data.remaining() / 2));
                    throw new IOException("No space left on device");
                }
                AtomicFiles.REAL.write(ch, data);
            }

            @Override
            public void force(java.nio.channels.FileChannel ch) throws IOException {
                AtomicFiles.REAL.force(ch);
            }

            @Override
            public void move(Path from, Path to) throws IOException {
                if (failStageMove && from.getFileName().toString().endsWith(".stage")) {
                    throw new IOException("injected: rename failed");
                }
                AtomicFiles.REAL.move(from, to);
            }
        };
    }

    private static java.util.Map<String, byte[]> report(String v) {
        java.util.Map<String, byte[]> m = new java.util.LinkedHashMap<>();
        for (String n : List.of("a.svg", "b.svg", "index.html")) {
            m.put(n, (n + " " + v).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return m;
    }

    private static String contents(Path d) throws IOException {
        StringBuilder b = new StringBuilder();
        try (var s = Files.list(d)) {
            for (Path p : s.sorted().toList()) {
                b.append(Files.readString(p)).append(';');
            }
        }
        return b.toString();
    }

    @Test
    void aFolderIsReplacedAsAUnitOrNotAtAll(@TempDir Path dir) throws IOException {
        Path r = dir.resolve("r");
        AtomicFiles.writeFolder(r, report("old"));
        String old = contents(r);
        for (int n = 1; n <= 3; n++) {
            int fail = n;
            assertThrows(IOException.class, () -> AtomicFiles.writeFolder(r, report("new"), failing(fail, false)));
            assertEquals(old, contents(r), "failed at file " + n + ": the old folder, whole");
        }
        assertThrows(IOException.class, () -> AtomicFiles.writeFolder(r, report("new"), failing(0, true)));
        assertEquals(old, contents(r), "the rename into place failed: the old folder is put back");
        try (var s = Files.list(dir)) {
            assertEquals(List.of("r"), s.map(p -> p.getFileName().toString()).toList(), "no stage or aside folder left");
        }
        AtomicFiles.writeFolder(r, report("new"));
        assertEquals("a.svg new;b.svg new;index.html new;", contents(r));
    }

    @Test
    void permissionsAreKeptAndLinksWrittenThrough(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("secret.html");
        AtomicFiles.write(f, "old");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        Path link = Files.createSymbolicLink(dir.resolve("link.html"), f);
        AtomicFiles.write(link, "new");
        assertTrue(Files.isSymbolicLink(link));
        assertEquals("new", Files.readString(f));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("no/such/folder/x"));
        assertThrows(IOException.class, () -> AtomicFiles.write(dangling, "x"));
        assertTrue(Files.isSymbolicLink(dangling), "a link to nowhere is refused, not replaced");
    }
}
