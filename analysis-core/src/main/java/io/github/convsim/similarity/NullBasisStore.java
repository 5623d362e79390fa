package io.github.convsim.similarity;

import io.github.convsim.conversion.Factor;
import io.github.convsim.io.ScratchSpaceException;
import io.github.convsim.io.WriteBehind;
import io.github.convsim.linalg.Matrix;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * The W0 null's bases of one module, by factor, draw and layer, filled layer group by layer group while each group's
 * W0 is factored, and read back draw by draw to compute phi. Only the requested sides are kept, each truncated to
 * the max(i, j) leading vectors phi uses.
 *
 * <p>Kept on the heap when small; otherwise spilled to a temporary file (opened delete-on-close, which on Linux
 * unlinks it at once, so not even a killed run leaves it behind) so that a 7B-class model's
 * 32 layers x 32 draws x 3 factors of 4096 x 16 bases (1.6 GB) never sit on the heap: reading one draw back needs one
 * layer stack of bases. Spilled bases are written behind, by a thread of the store's own, so that the analysis goes on
 * solving while the previous draws reach the file (at 7B scale about 3 GB for 8 layers: seconds of the pipeline's
 * thread otherwise); at most {@link #WRITE_BEHIND_BYTES} wait to be written, and reading waits for every write.
 */
public final class NullBasisStore implements AutoCloseable {
    private final Set<Side> sides;
    private final int keep;
    private final Map<Factor, List<List<Object>>> entries = new EnumMap<>(Factor.class);
    private final Path file;
    private final FileChannel channel;
    private final WriteBehind writer;
    private Future<?> lastWrite;
    private volatile IOException writeFailure;
    private ByteBuffer encoded;
    private ByteBuffer readBuffer;
    private long end;
    private long bytes;

    /** The most bytes of encoded bases waiting for the writer. */
    static final long WRITE_BEHIND_BYTES = 32L << 20;

    private record Spilled(long offset, int length) {}

    private NullBasisStore(Set<Side> sides, int keep, Path file) throws IOException {
        this.sides = Set.copyOf(sides);
        this.keep = keep;
        this.file = file;
        this.channel = file == null ? null : FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.DELETE_ON_CLOSE);
        this.writer = file == null ? null : new WriteBehind("convsim-null-writer", WRITE_BEHIND_BYTES);
    }

    /** A store on the heap. */
    public static NullBasisStore inMemory(Set<Side> sides, int keep) {
        try {
            return new NullBasisStore(sides, keep, null);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    /** A store backed by a new temporary file in {@code dir}. */
    public static NullBasisStore spilling(Set<Side> sides, int keep, Path dir) throws IOException {
        Path file;
        try {
            file = Files.createTempFile(dir, "convsim-w0-null-", ".bin");
        } catch (IOException e) {
            throw new ScratchSpaceException("cannot create a file for the W0 null's bases in", dir, e);
        }
        return new NullBasisStore(sides, keep, file);
    }

    /** Bytes one basis pair of a dimension-n space takes here, for choosing between the two stores. */
    public static long bytesPerPair(int n, int keep, int sidesKept) {
        return (long) sidesKept * n * keep * Double.BYTES;
    }

    public boolean spilled() {
        return channel != null;
    }

    /** Bytes of basis vectors held (on the heap or in the file). */
    public long bytes() {
        return bytes;
    }

    /** Appends the next layer's bases of factor {@code f} in draw {@code draw}; layers must come in order. */
    public void add(Factor f, int draw, FactorBases.Pair pair) {
        List<List<Object>> byDraw = entries.computeIfAbsent(f, k -> new ArrayList<>());
        while (byDraw.size() <= draw) {
            byDraw.add(new ArrayList<>());
        }
        SubspaceBasis left = sides.contains(Side.LEFT) ? pair.left().prefix(keep) : null;
        SubspaceBasis right = sides.contains(Side.RIGHT) ? pair.right().prefix(keep) : null;
        bytes += size(left) + size(right);
        if (channel == null) {
            byDraw.get(draw).add(new FactorBases.Pair(left, right));
            return;
        }
        int length = encodedLength(left) + encodedLength(right);
        long offset = end;
        end += length;
        byDraw.get(draw).add(new Spilled(offset, length));
        failIfWriteFailed();
        lastWrite = writer.submit(length, () -> {
            try {
                if (writeFailure == null) {
                    write(offset, length, left, right);
                }
            } catch (IOException e) {
                writeFailure = e;
            }
        });
    }

    /** On the writer's thread: one entry, through a direct buffer kept for the next (no copy by the channel). */
    private void write(long offset, int length, SubspaceBasis left, SubspaceBasis right) throws IOException {
        if (encoded == null || encoded.capacity() < length) {
            encoded = ByteBuffer.allocateDirect(length).order(ByteOrder.LITTLE_ENDIAN);
        }
        ByteBuffer buf = encoded.clear();
        encode(buf, left);
        encode(buf, right);
        buf.flip();
        while (buf.hasRemaining()) {
            channel.write(buf, offset + buf.position());
        }
    }

    /** Waits until every basis added so far is in the file. */
    private void awaitWrites() {
        if (lastWrite == null) {
            return;
        }
        try {
            lastWrite.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while writing the W0 null's bases to " + file, e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("the W0 null's writer failed", e.getCause());
        }
        failIfWriteFailed();
    }

    private void failIfWriteFailed() {
        IOException e = writeFailure;
        if (e != null) {
            throw new ScratchSpaceException("cannot write the W0 null's bases to", file, e);
        }
    }

    /** Number of draws held for factor {@code f}. */
    public int draws(Factor f) {
        return entries.getOrDefault(f, List.of()).size();
    }

    /**
     * Every layer's bases of factor {@code f} in draw {@code draw}, in the order they were added. Spilled entries are
     * read into one direct buffer kept for the next, and decoded from it: a heap buffer per entry cost the channel's
     * copy through a temporary direct buffer and, at 7B scale, 6 GiB of garbage per module.
     */
    public synchronized List<FactorBases.Pair> get(Factor f, int draw) {
        awaitWrites();
        List<Object> layers = entries.get(f).get(draw);
        List<FactorBases.Pair> out = new ArrayList<>(layers.size());
        for (Object o : layers) {
            if (o instanceof FactorBases.Pair p) {
                out.add(p);
                continue;
            }
            Spilled s = (Spilled) o;
            if (readBuffer == null || readBuffer.capacity() < s.length()) {
                readBuffer = ByteBuffer.allocateDirect(s.length()).order(ByteOrder.LITTLE_ENDIAN);
            }
            ByteBuffer buf = readBuffer.clear().limit(s.length());
            try {
                while (buf.hasRemaining()) {
                    if (channel.read(buf, s.offset() + buf.position()) < 0) {
                        throw new IOException("unexpected end of file");
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the W0 null's bases from " + file, e);
            }
            buf.flip();
            out.add(new FactorBases.Pair(decode(buf), decode(buf)));
        }
        return out;
    }

    private static long size(SubspaceBasis b) {
        return b == null ? 0 : (long) b.vectors().data().length * Double.BYTES;
    }

    private static int encodedLength(SubspaceBasis b) {
        return b == null ? 1 : 1 + 4 * 4 + (b.singularValues().length + b.vectors().data().length) * Double.BYTES;
    }

    private static void encode(ByteBuffer buf, SubspaceBasis b) {
        if (b == null) {
            buf.put((byte) 0);
            return;
        }
        buf.put((byte) 1);
        buf.putInt(b.vectors().rows()).putInt(b.vectors().cols()).putInt(b.rank()).putInt(b.singularValues().length);
        buf.asDoubleBuffer().put(b.singularValues());
        buf.position(buf.position() + b.singularValues().length * Double.BYTES);
        buf.asDoubleBuffer().put(b.vectors().data());
        buf.position(buf.position() + b.vectors().data().length * Double.BYTES);
    }

    private static SubspaceBasis decode(ByteBuffer buf) {
        if (buf.get() == 0) {
            return null;
        }
        int rows = buf.getInt();
        int cols = buf.getInt();
        int rank = buf.getInt();
        double[] s = new double[buf.getInt()];
        buf.asDoubleBuffer().get(s);
        buf.position(buf.position() + s.length * Double.BYTES);
        double[] v = new double[rows * cols];
        buf.asDoubleBuffer().get(v);
        buf.position(buf.position() + v.length * Double.BYTES);
        return new SubspaceBasis(new Matrix(rows, cols, v), s, rank);
    }

    @Override
    public void close() {
        entries.clear();
        if (channel != null) {
            // what is queued is at most WRITE_BEHIND_BYTES: let it finish rather than close the file under it
            writer.close();
            try {
                channel.close();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot remove " + file, e);
            }
        }
    }
}
