package io.github.convsim.io;

import io.github.convsim.io.RestrictedUnpickler.StorageRef;
import io.github.convsim.io.RestrictedUnpickler.TensorRef;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A state dict saved by {@code torch.save} in its zip format (PyTorch 1.6 and later), such as {@code
 * adapter_model.bin} or {@code pytorch_model.bin}. The pickle is read by {@link RestrictedUnpickler}, which refuses
 * any global a state dict does not need; tensor bytes are read from the zip's {@code data/N} entries on demand.
 */
public final class TorchStateDict implements WeightSource {
    private static final long MAX_PICKLE_BYTES = 256L << 20;
    /** Compressed storage inflated beyond what a tensor reads, below which no question is asked. */
    private static final long MAX_INFLATE_SLACK = 64L << 20;

    private final Path path;
    private final ZipFile zip;
    private final String prefix;
    private final Map<String, TensorRef> tensors;
    private final Map<String, TensorInfo> infos;
    private final List<String> skipped;

    private TorchStateDict(Path path, ZipFile zip, String prefix, Map<String, TensorRef> tensors,
                           List<String> skipped) {
        this.path = path;
        this.zip = zip;
        this.prefix = prefix;
        this.tensors = tensors;
        this.skipped = skipped;
        Map<String, TensorInfo> i = new LinkedHashMap<>();
        tensors.forEach((k, t) -> i.put(k, new TensorInfo(k, t.storage().dtype(), t.size(), path)));
        this.infos = Collections.unmodifiableMap(i);
    }

    public static TorchStateDict open(Path path) throws CheckpointException {
        InputFiles.requireRegularFile(path);
        checkZipMagic(path);
        ZipFile zip;
        try {
            zip = new ZipFile(path.toFile());
        } catch (ZipException e) {
            throw new CheckpointException(path, "not a valid zip archive: " + e.getMessage());
        } catch (IOException e) {
            throw new CheckpointException(path, "cannot open: " + e.getMessage());
        }
        try {
            return read(path, zip);
        } catch (IllegalArgumentException badName) {
            closeQuietly(zip);
            // java.util.zip reports an entry name that is not valid UTF-8 this way
            throw new CheckpointException(path, "zip entry name is not valid UTF-8 (" + badName.getMessage() + ")");
        } catch (CheckpointException | RuntimeException e) {
            closeQuietly(zip);
            throw e;
        }
    }

    private static void closeQuietly(ZipFile zip) {
        try {
            zip.close();
        } catch (IOException ignored) {
            // already failing
        }
    }

    private static void checkZipMagic(Path path) throws CheckpointException {
        byte[] head = new byte[4];
        try (InputStream in = Files.newInputStream(path)) {
            int n = in.readNBytes(head, 0, 4);
            if (n >= 2 && (head[0] & 0xff) == 0x80) {
                throw new CheckpointException(path, "legacy (pre-1.6, non-zip) torch.save format is not supported;"
                        + " re-save it with a current PyTorch or convert it to safetensors");
            }
            if (n < 4 || head[0] != 'P' || head[1] != 'K') {
                throw new CheckpointException(path, "not a PyTorch zip checkpoint (no zip signature)");
            }
        } catch (NoSuchFileException e) {
            throw new CheckpointException(path, "no such file");
        } catch (IOException e) {
            if (e instanceof CheckpointException ce) {
                throw ce;
            }
            throw new CheckpointException(path, "cannot read: " + e.getMessage());
        }
    }

    private static TorchStateDict read(Path path, ZipFile zip) throws CheckpointException {
        String pkl = null;
        for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
            String name = en.nextElement().getName();
            if (name.startsWith("/") || name.contains("\\") || name.contains("..") || name.indexOf(0) >= 0) {
                throw new CheckpointException(path, "zip entry name '" + printable(name) + "' is not a safe relative path");
            }
            if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) {
                if (pkl != null) {
                    throw new CheckpointException(path, "zip holds more than one data.pkl");
                }
                pkl = name;
            }
        }
        if (pkl == null) {
            throw new CheckpointException(path, "zip holds no <archive>/data.pkl: not a torch.save checkpoint");
        }
        String prefix = pkl.substring(0, pkl.length() - "data.pkl".length());
        ZipEntry order = zip.getEntry(prefix + "byteorder");
        if (order != null) {
            String bo = new String(entryBytes(path, zip, order, 16), StandardCharsets.US_ASCII).trim();
            if (!bo.equals("little")) {
                throw new CheckpointException(path, "byte order '" + bo + "' is not supported (little-endian only)");
            }
        }
        byte[] pickle = entryBytes(path, zip, zip.getEntry(pkl), MAX_PICKLE_BYTES);
        Object root = RestrictedUnpickler.load(path, pickle);
        if (!(root instanceof Map<?, ?> dict)) {
            throw new CheckpointException(path, "pickle holds no dict: not a state dict");
        }
        Map<String, TensorRef> tensors = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String key)) {
                throw new CheckpointException(path, "state dict has a key that is not a string");
            }
            if (e.getValue() instanceof TensorRef t) {
                tensors.put(key, t);
            } else {
                skipped.add(key);
            }
        }
        return new TorchStateDict(path, zip, prefix, Collections.unmodifiableMap(tensors),
                Collections.unmodifiableList(skipped));
    }

    private static byte[] entryBytes(Path path, ZipFile zip, ZipEntry entry, long max) throws CheckpointException {
        if (entry.getSize() > max) {
            throw new CheckpointException(path, "zip entry '" + entry.getName() + "' declares " + entry.getSize()
                    + " bytes, more than the " + max + " allowed");
        }
        try (InputStream in = zip.getInputStream(entry)) {
            byte[] b = in.readNBytes((int) Math.min(max + 1, Integer.MAX_VALUE - 8));
            if (b.length > max) {
                throw new CheckpointException(path, "zip entry '" + entry.getName() + "' is larger than " + max
                        + " bytes");
            }
            if (entry.getSize() >= 0 && b.length != entry.getSize()) {
                throw new CheckpointException(path, "zip entry '" + entry.getName() + "' declares " + entry.getSize()
                        + " bytes but holds " + b.length);
            }
            return b;
        } catch (IOException e) {
            throw entryFailure(path, entry, e);
        }
    }

    /** A failure reading a zip entry as the one-line error it is: corrupt, unreadable, or already a refusal. */
    private static CheckpointException entryFailure(Path path, ZipEntry entry, IOException e) {
        if (e instanceof CheckpointException ce) {
            return ce;
        }
        return new CheckpointException(path, e instanceof ZipException
                ? "zip entry '" + entry.getName() + "' is corrupt: " + e.getMessage()
                : "cannot read zip entry '" + entry.getName() + "': " + e.getMessage());
    }

    @Override
    public Path location() {
        return path;
    }

    @Override
    public List<Path> files() {
        return List.of(path);
    }

    @Override
    public Set<String> names() {
        return infos.keySet();
    }

    /** Keys of the state dict whose values are not tensors; listed, not read. */
    public List<String> skippedKeys() {
        return skipped;
    }

    @Override
    public TensorInfo info(String name) throws CheckpointException {
        TensorInfo i = infos.get(name);
        if (i == null) {
            throw new CheckpointException(path, "tensor '" + name + "': no such tensor");
        }
        return i;
    }

    @Override
    public double[] readDoubles(String name) throws CheckpointException {
        TensorInfo info = info(name);
        TensorRef t = tensors.get(name);
        StorageRef s = t.storage();
        long numel = info.numel();
        if (numel > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(path, "tensor '" + name + "' has " + numel + " elements, too many for one array");
        }
        ZipEntry entry = zip.getEntry(prefix + "data/" + s.key());
        if (entry == null) {
            throw new CheckpointException(path, "tensor '" + name + "': storage data/" + s.key() + " is missing");
        }
        int size = s.dtype().size();
        long[] shape = t.size();
        long[] stride = t.stride();
        long first;
        long last;
        long storageBytes;
        try {
            storageBytes = Math.multiplyExact(s.numel(), (long) size);
            if (numel == 0) {
                return new double[0];
            }
            if (t.offset() < 0 || s.numel() < 0) {
                throw new CheckpointException(path, "tensor '" + name + "' has a negative offset or storage size");
            }
            // the elements read span [first, last] of the storage; every product and sum is checked for overflow
            first = t.offset();
            last = t.offset();
            for (int d = 0; d < shape.length; d++) {
                if (shape[d] < 0 || stride[d] < 0) {
                    throw new CheckpointException(path, "tensor '" + name + "' has a negative size or stride");
                }
                last = Math.addExact(last, Math.multiplyExact(shape[d] - 1, stride[d]));
            }
        } catch (ArithmeticException overflow) {
            throw new CheckpointException(path, "tensor '" + name + "': its size, strides or offset overflow 64 bits");
        }
        if (last >= s.numel()) {
            throw new CheckpointException(path, "tensor '" + name + "' reaches element " + last
                    + " of a storage of " + s.numel());
        }
        if (entry.getSize() >= 0 && entry.getSize() != storageBytes) {
            throw new CheckpointException(path, "tensor '" + name + "': storage data/" + s.key() + " holds "
                    + entry.getSize() + " bytes, its id says " + storageBytes);
        }
        long spanBytes = (last - first + 1) * size;
        // a compressed storage is inflated up to the span's end: bounded by what the tensor itself needs
        long inflated = (last + 1) * size;
        long needed = numel * size;
        if (entry.getMethod() != ZipEntry.STORED && inflated > Math.max(MAX_INFLATE_SLACK, 4 * needed)) {
            throw new CheckpointException(path, "tensor '" + name + "' needs " + needed + " bytes but would inflate "
                    + inflated + " bytes of compressed storage data/" + s.key() + " (more than 4 times what it reads)");
        }
        if (spanBytes > Integer.MAX_VALUE - 8) {
            throw new CheckpointException(path, "tensor '" + name + "' spans " + spanBytes + " bytes of its storage,"
                    + " too many for one read");
        }
        ByteBuffer data = ByteBuffer.wrap(span(entry, first * size, (int) spanBytes, name))
                .order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[(int) numel];
        long[] idx = new long[shape.length];
        try {
            for (int i = 0; i < out.length; i++) {
                long p = 0;
                for (int d = 0; d < shape.length; d++) {
                    p += idx[d] * stride[d];
                }
                out[i] = s.dtype().read(data, (int) p);
                for (int d = shape.length - 1; d >= 0; d--) {
                    if (++idx[d] < shape[d]) {
                        break;
                    }
                    idx[d] = 0;
                }
            }
        } catch (ArithmeticException inexact) {
            throw new CheckpointException(path, "tensor '" + name + "': " + inexact.getMessage());
        }
        return out;
    }

    /** {@code length} bytes of a storage entry from byte {@code from}: skipped to, not kept in memory. */
    private byte[] span(ZipEntry entry, long from, int length, String name) throws CheckpointException {
        try (InputStream in = zip.getInputStream(entry)) {
            in.skipNBytes(from);
            byte[] b = in.readNBytes(length);
            if (b.length != length) {
                throw new CheckpointException(path, "tensor '" + name + "': storage " + entry.getName()
                        + " ends before the bytes the tensor views");
            }
            return b;
        } catch (java.io.EOFException e) {
            throw new CheckpointException(path, "tensor '" + name + "': storage " + entry.getName()
                    + " ends before the bytes the tensor views");
        } catch (IOException e) {
            throw entryFailure(path, entry, e);
        }
    }

    @Override
    public void close() {
        try {
            zip.close();
        } catch (IOException ignored) {
            // read-only
        }
    }

    private static String printable(String s) {
        return s.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
