package io.github.convsim.io;

import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;

/**
 * An input file's size and modification time when it was opened, to tell afterwards whether another program rewrote it
 * while it was read: a rewrite of the same size is invisible to the readers' size checks, and the numbers would then
 * mix two versions of the file under a hash of one of them.
 */
public record FileStamp(Path path, long size, FileTime modified) {

    public static FileStamp of(Path path) throws CheckpointException {
        BasicFileAttributes a = InputFiles.attributes(path);
        return new FileStamp(path, a.size(), a.lastModifiedTime());
    }

    /**
     * @throws CheckpointException naming the file, if its size or modification time is not what it was when stamped
     */
    public void requireUnchanged() throws CheckpointException {
        FileStamp now = of(path);
        if (now.size != size || !now.modified.equals(modified)) {
            throw new CheckpointException(path, "changed while convsim read it (" + (now.size != size ? size
                    + " bytes when opened, " + now.size + " now" : "modified at " + modified + " when opened, "
                    + now.modified + " now") + "): another program rewrote it, and the numbers may mix two versions"
                    + " of it; run again once it is written");
        }
    }
}
