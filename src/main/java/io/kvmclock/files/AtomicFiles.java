package io.kvmclock.files;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The project's one writer of files that must never be seen half written (docs/faults.md):
 * <ul>
 *   <li>one file: bytes to a temp file in the target's directory, fsync, rename over the target, fsync the
 *   directory. A reader sees the old content or the new, never a mix, and a failure leaves the old file.</li>
 *   <li>a folder of files ({@link #writeFolder}): every file is staged in a temp folder beside the target,
 *   and only when all are on disk does the staged folder take the target's place, so a failure never
 *   leaves a mix of old and new files.</li>
 * </ul>
 * An existing file keeps its permissions (a new one gets rw-r--r--). A symlink is written through: the file
 * it points to is replaced and the link stays; a dangling link is refused. Temp names carry the writer's
 * pid ({@code .NAME.kvmclock-PID-RANDOM.tmp}), so what a process killed at the rename left behind is swept
 * by the next write into the same directory once that pid is gone.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** The steps of a write, replaceable so tests can make each one fail. */
    public interface Io {
        void write(FileChannel ch, ByteBuffer data) throws IOException;

        void force(FileChannel ch) throws IOException;

        void move(Path from, Path to) throws IOException;
    }

    public static final Io REAL = new Io() {
        @Override
        public void write(FileChannel ch, ByteBuffer data) throws IOException {
            while (data.hasRemaining()) {
                ch.write(data);
            }
        }

        @Override
        public void force(FileChannel ch) throws IOException {
            ch.force(true);
        }

        @Override
        public void move(Path from, Path to) throws IOException {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
        }
    };

    private static final Set<PosixFilePermission> DEFAULT = PosixFilePermissions.fromString("rw-r--r--");
    private static final String TAG = ".kvmclock-";
    /** {@code .NAME.kvmclock-PID-RANDOM.tmp} (a file) or {@code .NAME.kvmclock-PID-RANDOM.stage|old} (a folder). */
    private static final Pattern TEMP = Pattern.compile("\\..+\\.kvmclock-(\\d+)-\\d+\\.(tmp|stage|old)");

    public static void write(Path target, String text) throws IOException {
        write(target, text.getBytes(StandardCharsets.UTF_8));
    }

    public static void write(Path target, byte[] content) throws IOException {
        write(target, content, REAL);
    }

    /** Writes {@code content} to {@code target} atomically through {@code io}. */
    public static void write(Path target, byte[] content, Io io) throws IOException {
        Path file = resolveLinks(target);
        Path dir = file.getParent();
        if (file.getFileName() == null || dir == null) {
            throw new IOException(target + " is not a file name");
        }
        sweep(dir);
        Set<PosixFilePermission> perms = Files.isRegularFile(file) ? permissionsOf(file) : DEFAULT;
        Path tmp = tempBeside(file, "tmp");
        boolean moved = false;
        try {
            // created with the target's mode (less the umask), so a 0600 file's new content is never readable by others
            createFile(tmp, perms);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                io.write(ch, ByteBuffer.wrap(content));
                io.force(ch);
            }
            setPermissions(tmp, perms);
            try {
                io.move(tmp, file);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + file + " atomically on this file system", e);
            }
            moved = true;
            forceDirectory(dir);
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    /**
     * Replaces the folder {@code target} with one holding exactly {@code files} (name to content), as a
     * unit: staged beside it, then renamed into place; the old folder is renamed aside first and removed
     * after. Killed between those two renames, the old folder waits beside the target under a swept name and
     * the next write puts it back. The caller decides that {@code target} holds nothing else worth keeping
     * (see {@link #onlyHolds}).
     */
    public static void writeFolder(Path target, Map<String, byte[]> files) throws IOException {
        writeFolder(target, files, REAL);
    }

    public static void writeFolder(Path target, Map<String, byte[]> files, Io io) throws IOException {
        Path dir = resolveLinks(target);
        Path parent = dir.getParent();
        if (dir.getFileName() == null || parent == null) {
            throw new IOException(target + " is not a folder name");
        }
        sweep(parent);
        Path stage = tempBeside(dir, "stage");
        boolean placed = false;
        try {
            Files.createDirectory(stage);
            for (Map.Entry<String, byte[]> f : new LinkedHashMap<>(files).entrySet()) {
                Path p = stage.resolve(f.getKey());
                Files.createFile(p);
                try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                    io.write(ch, ByteBuffer.wrap(f.getValue()));
                    io.force(ch);
                }
                setPermissions(p, DEFAULT);
            }
            forceDirectory(stage);
            Path old = null;
            if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
                old = tempBeside(dir, "old");
                io.move(dir, old);
            }
            try {
                io.move(stage, dir);
            } catch (IOException e) {
                if (old != null) {
                    Files.move(old, dir, StandardCopyOption.ATOMIC_MOVE);
                }
                throw e;
            }
            placed = true;
            forceDirectory(parent);
            if (old != null) {
                deleteTree(old);
            }
        } finally {
            if (!placed) {
                deleteTree(stage);
            }
        }
    }

    /** True when {@code dir} is missing, empty, or holds only (regular) files named in {@code names}. */
    public static boolean onlyHolds(Path dir, Set<String> names) throws IOException {
        if (!Files.exists(dir)) {
            return true;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.allMatch(p -> names.contains(p.getFileName().toString()) && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS));
        }
    }

    /**
     * Checks before a long run that a file can be created in {@code target}'s directory (by creating and
     * removing a temp file there); the exception says why not.
     */
    public static void checkWritable(Path target) throws IOException {
        Path file = resolveLinks(target);
        Path dir = file.getParent();
        if (file.getFileName() == null || dir == null) {
            throw new IOException(target + " is not a file name");
        }
        Path probe = tempBeside(file, "tmp");
        Files.createFile(probe);
        Files.delete(probe);
    }

    /**
     * Removes temp files and staged folders this class left in {@code dir} for a process that no longer
     * exists, and puts back a folder that was renamed aside when its writer was killed before the new one
     * took its place.
     */
    public static void sweep(Path dir) {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, ".*" + TAG + "*")) {
            for (Path p : s) {
                Matcher m = TEMP.matcher(p.getFileName().toString());
                if (!m.matches() || alive(Long.parseLong(m.group(1)))) {
                    continue;
                }
                if (m.group(2).equals("old")) {
                    Path original = originalOf(p);
                    if (original != null && !Files.exists(original, LinkOption.NOFOLLOW_LINKS)) {
                        Files.move(p, original, StandardCopyOption.ATOMIC_MOVE);
                        continue;
                    }
                }
                deleteTree(p);
            }
        } catch (IOException | NumberFormatException e) {
            // A sweep is best effort: a leftover it cannot remove must not stop the write that asked for it.
        }
    }

    private static Path originalOf(Path aside) {
        String n = aside.getFileName().toString();
        int tag = n.lastIndexOf(TAG);
        return tag <= 1 ? null : aside.resolveSibling(n.substring(1, tag));
    }

    /** Whether process {@code pid} still runs: the owner of a leftover temporary file or folder, here and in demo.LiveUpdate. */
    public static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static Path tempBeside(Path file, String kind) {
        return file.resolveSibling("." + file.getFileName() + TAG + ProcessHandle.current().pid() + "-"
                + ThreadLocalRandom.current().nextLong(1L << 48) + "." + kind);
    }

    /** The absolute path with symlinks followed; a link to nowhere is refused rather than replaced. */
    private static Path resolveLinks(Path target) throws IOException {
        Path abs = target.toAbsolutePath().normalize();
        for (int hops = 0; Files.isSymbolicLink(abs); hops++) {
            if (hops > 40) {
                throw new IOException(target + ": too many levels of symbolic links");
            }
            Path to = Files.readSymbolicLink(abs);
            abs = abs.resolveSibling(to).toAbsolutePath().normalize();
            if (!Files.exists(abs) && !Files.isSymbolicLink(abs)) {
                Path parent = abs.getParent();
                if (parent == null || !Files.isDirectory(parent)) {
                    throw new NoSuchFileException(target.toString(), null, "a symbolic link into a folder that does not exist");
                }
            }
        }
        return abs;
    }

    private static void createFile(Path p, Set<PosixFilePermission> perms) throws IOException {
        try {
            Files.createFile(p, PosixFilePermissions.asFileAttribute(perms));
        } catch (UnsupportedOperationException e) {
            Files.createFile(p);
        }
    }

    private static Set<PosixFilePermission> permissionsOf(Path file) {
        try {
            return Files.getPosixFilePermissions(file);
        } catch (IOException | UnsupportedOperationException e) {
            return DEFAULT;
        }
    }

    private static void setPermissions(Path p, Set<PosixFilePermission> perms) throws IOException {
        try {
            Files.setPosixFilePermissions(p, perms);
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: keep its default permissions
        }
    }

    /** After a rename, the directory entry is durable only once the directory itself is forced (fsync on Linux). */
    private static void forceDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some file systems refuse fsync on a directory; the rename itself has already happened atomically.
        }
    }

    /** Removes {@code p} and, if it is a folder, everything in it (links are removed, not followed). */
    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(q);
            }
        }
    }
}
