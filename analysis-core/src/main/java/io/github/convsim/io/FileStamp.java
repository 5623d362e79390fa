package io.github.convsim.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.Objects;

/**
 * An input file's identity and times when it was opened, to tell afterwards whether another program rewrote it while
 * it was read: a rewrite of the same size is invisible to the readers' size checks, and the numbers would then mix two
 * versions of the file under a hash of one of them.
 *
 * <p>Besides size and modification time it holds the file's key (device and inode on POSIX systems), which a file
 * moved over the input changes ({@code rsync} writes a copy and renames it), and its status-change time (POSIX
 * {@code ctime}), which every write moves on and no program can set back: a rewrite that restores the old modification
 * time ({@code cp -p}, {@code rsync -t}, {@code touch -r}) keeps size and mtime but not ctime. Either is null where the
 * file system does not provide it.
 */
public record FileStamp(Path path, long size, FileTime modified, Object fileKey, FileTime statusChanged) {

    public static FileStamp of(Path path) throws CheckpointException {
        BasicFileAttributes a = InputFiles.attributes(path);
        return new FileStamp(path, a.size(), a.lastModifiedTime(), a.fileKey(), statusChanged(path));
    }

    private static FileTime statusChanged(Path path) {
        try {
            return (FileTime) Files.getAttribute(path, "unix:ctime");
        } catch (UnsupportedOperationException | IllegalArgumentException | IOException e) {
            return null; // no "unix" attribute view here (Windows): size, mtime and the key still tell
        }
    }

    /**
     * @throws CheckpointException naming the file, if its size, modification time, file key or status-change time is
     *         not what it was when stamped
     */
    public void requireUnchanged() throws CheckpointException {
        FileStamp now = of(path);
        String what;
        if (now.size != size) {
            what = size + " bytes when opened, " + now.size + " now";
        } else if (!now.modified.equals(modified)) {
            what = "modified at " + modified + " when opened, " + now.modified + " now";
        } else if (!Objects.equals(now.fileKey, fileKey)) {
            what = "another file was moved to its name";
        } else if (!Objects.equals(now.statusChanged, statusChanged)) {
            what = "status changed at " + statusChanged + " when opened, " + now.statusChanged + " now, with its"
                    + " modification time kept, as a rewrite by cp -p or rsync -t leaves it; a chmod, chown or new"
                    + " hard link does this too";
        } else {
            return;
        }
        throw new CheckpointException(path, "changed while convsim read it (" + what + "): another program rewrote"
                + " it, and the numbers may mix two versions of it; run again once it is written");
    }
}
