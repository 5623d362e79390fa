package io.github.convsim.io;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A pickle interpreter that understands exactly what a PyTorch state dict needs and nothing else. It never loads or
 * runs code: a global outside {@link #ALLOWED_GLOBALS} (say {@code os.system}) is refused by name before anything
 * is built from it, as PyTorch's own {@code weights_only} unpickler does.
 *
 * <p>Values: {@code None} as null, bool, {@link Long}, {@link BigInteger}, {@link Double}, {@link String},
 * {@code byte[]}, {@link List} (lists), {@link Tuple}, {@link LinkedHashMap} (dicts and OrderedDicts), {@link
 * StorageRef} (persistent ids of storages) and {@link TensorRef} (rebuilt tensors).
 */
final class RestrictedUnpickler {
    static final Set<String> ALLOWED_GLOBALS = Set.of(
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch.DoubleStorage", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage",
            "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
            "torch.ByteStorage", "torch.BoolStorage");

    private static final int MAX_MARK_DEPTH = 10_000;
    private static final int MAX_STACK = 10_000_000;
    /**
     * Memo entries and values pushed in all: a real state dict uses about ten of each per tensor, so these admit
     * 100,000 tensors and refuse a memo bomb (one value memoized 250 million times) at once, within about 100 MB.
     */
    static final int MAX_MEMO = 1 << 20;
    static final long MAX_VALUES = 20_000_000;

    record Tuple(Object[] items) {
        @Override
        public String toString() {
            return Arrays.toString(items);
        }
    }

    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    /** A storage referenced by a persistent id ('storage', type, key, location, numel). */
    record StorageRef(Dtype dtype, String key, long numel) {}

    /** A tensor view into a storage, as built by {@code _rebuild_tensor_v2}. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    private final Path file;
    private final ByteBuffer in;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private long values;

    private RestrictedUnpickler(Path file, byte[] data) {
        this.file = file;
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Interprets a whole pickle and returns its top-level value. */
    static Object load(Path file, byte[] pickle) throws CheckpointException {
        try {
            return new RestrictedUnpickler(file, pickle).run();
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new CheckpointException(file, "pickle is truncated or malformed");
        } catch (ClassCastException | NullPointerException e) {
            // a None or a value of another type where a state dict needs a specific one
            throw new CheckpointException(file, "pickle has a value of the wrong type where a state dict needs another");
        }
    }

    private Object run() throws CheckpointException {
        while (true) {
            int op = in.get() & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int proto = in.get() & 0xff;
                    if (proto > 5) {
                        throw fail("pickle protocol " + proto + " is not supported");
                    }
                }
                case 0x95 -> in.getLong(); // FRAME: length hint only
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) {
                        throw fail("pickle ends with " + stack.size() + " values on its stack");
                    }
                    return stack.get(0);
                }
                case '(' -> {
                    if (marks.size() >= MAX_MARK_DEPTH) {
                        throw fail("pickle nests deeper than " + MAX_MARK_DEPTH + " levels");
                    }
                    marks.add(stack.size());
                }
                case '}' -> push(new LinkedHashMap<Object, Object>());
                case ']' -> push(new ArrayList<Object>());
                case ')' -> push(new Tuple(new Object[0]));
                case 'd' -> push(toDict(popMark()));
                case 'l' -> push(new ArrayList<>(popMark()));
                case 't' -> push(new Tuple(popMark().toArray()));
                case 0x85 -> push(new Tuple(new Object[] {pop()}));
                case 0x86 -> {
                    Object b = pop();
                    Object a = pop();
                    push(new Tuple(new Object[] {a, b}));
                }
                case 0x87 -> {
                    Object c = pop();
                    Object b = pop();
                    Object a = pop();
                    push(new Tuple(new Object[] {a, b, c}));
                }
                case 'q' -> memoPut((long) (in.get() & 0xff), top());
                case 'r' -> memoPut(in.getInt() & 0xffffffffL, top());
                case 0x94 -> memoPut((long) memo.size(), top());
                case 'h' -> push(memoGet(in.get() & 0xff));
                case 'j' -> push(memoGet(in.getInt() & 0xffffffffL));
                case 'J' -> push((long) in.getInt());
                case 'K' -> push((long) (in.get() & 0xff));
                case 'M' -> push((long) (in.getShort() & 0xffff));
                case 0x8a -> push(readLong1());
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // big-endian
                case 'X' -> push(utf8(length(in.getInt() & 0xffffffffL)));
                case 0x8c -> push(utf8(in.get() & 0xff));
                case 0x8d -> push(utf8(length(in.getLong())));
                case 'T' -> push(bytes(length(in.getInt() & 0xffffffffL)));
                case 'U' -> push(bytes(in.get() & 0xff));
                case 'c' -> push(global(readLine(), readLine()));
                case 0x93 -> {
                    Object name = pop();
                    Object module = pop();
                    if (!(name instanceof String n) || !(module instanceof String m)) {
                        throw fail("STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 'Q' -> push(persistentLoad(pop()));
                case 'R' -> {
                    if (!(pop() instanceof Tuple args)) {
                        throw fail("REDUCE needs an argument tuple");
                    }
                    push(reduce(pop(), args));
                }
                case 'b' -> build(pop(), top());
                case 's' -> {
                    Object value = pop();
                    Object key = pop();
                    dict(top()).put(hashable(key), value);
                }
                case 'u' -> {
                    List<Object> kv = popMark();
                    Map<Object, Object> d = dict(top());
                    for (int i = 0; i + 1 < kv.size(); i += 2) {
                        d.put(hashable(kv.get(i)), kv.get(i + 1));
                    }
                }
                case 'a' -> {
                    Object v = pop();
                    list(top()).add(v);
                }
                case 'e' -> {
                    List<Object> items = popMark();
                    list(top()).addAll(items);
                }
                default -> throw fail(String.format(Locale.ROOT, "pickle opcode 0x%02x is not allowed in a state dict",
                        op));
            }
        }
    }

    private Object global(String module, String name) throws CheckpointException {
        String q = module + "." + name;
        if (!ALLOWED_GLOBALS.contains(q)) {
            throw fail("refused to load global '" + q + "': only state-dict tensors are read from pickles");
        }
        return new Global(module, name);
    }

    private Object reduce(Object callable, Tuple args) throws CheckpointException {
        if (!(callable instanceof Global g)) {
            throw fail("pickle calls something that is not an allowed global");
        }
        switch (g.qualified()) {
            case "collections.OrderedDict" -> {
                if (args.items.length != 0) {
                    throw fail("OrderedDict called with arguments");
                }
                return new LinkedHashMap<Object, Object>();
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                Object[] a = args.items;
                if (a.length < 4 || !(a[0] instanceof StorageRef s)) {
                    throw fail("_rebuild_tensor_v2 called without a storage");
                }
                if (!(a[1] instanceof Long offset)) {
                    throw fail("_rebuild_tensor_v2 called with a storage offset that is not an integer");
                }
                long[] size = longs(a[2]);
                long[] stride = longs(a[3]);
                if (size.length != stride.length || offset < 0) {
                    throw fail("_rebuild_tensor_v2 with inconsistent size " + Arrays.toString(size) + " and stride "
                            + Arrays.toString(stride));
                }
                long numel = 1;
                for (int d = 0; d < size.length; d++) {
                    if (size[d] < 0 || stride[d] < 0) {
                        throw fail("tensor with a negative size or stride " + Arrays.toString(size) + " / "
                                + Arrays.toString(stride));
                    }
                    numel = multiplyOrFail(numel, size[d], "tensor of size " + Arrays.toString(size));
                }
                return new TensorRef(s, offset, size, stride);
            }
            default -> throw fail("refused to call '" + g.qualified() + "'");
        }
    }

    private void build(Object state, Object target) throws CheckpointException {
        // OrderedDict carries attributes such as _metadata as BUILD state; they are not needed
        if (!(target instanceof Map)) {
            throw fail("pickle sets state on an object that is not a dict");
        }
    }

    private Object persistentLoad(Object pid) throws CheckpointException {
        if (!(pid instanceof Tuple t) || t.items.length != 5 || !"storage".equals(t.items[0])
                || !(t.items[1] instanceof Global type) || !(t.items[2] instanceof String key)
                || !(t.items[4] instanceof Long numel)) {
            throw fail("persistent id is not a ('storage', type, key, location, numel) tuple");
        }
        Dtype dtype = storageDtype(type.name());
        if (numel < 0) {
            throw fail("storage '" + key + "' declares " + numel + " elements");
        }
        multiplyOrFail(numel, dtype.size(), "storage '" + key + "' of " + numel + " elements");
        return new StorageRef(dtype, key, numel);
    }

    private long multiplyOrFail(long a, long b, String what) throws CheckpointException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw fail(what + " has more elements or bytes than 64 bits can count");
        }
    }

    private Dtype storageDtype(String storageClass) throws CheckpointException {
        return switch (storageClass) {
            case "DoubleStorage" -> Dtype.F64;
            case "FloatStorage" -> Dtype.F32;
            case "HalfStorage" -> Dtype.F16;
            case "BFloat16Storage" -> Dtype.BF16;
            case "LongStorage" -> Dtype.I64;
            case "IntStorage" -> Dtype.I32;
            case "ShortStorage" -> Dtype.I16;
            case "CharStorage" -> Dtype.I8;
            case "ByteStorage" -> Dtype.U8;
            case "BoolStorage" -> Dtype.BOOL;
            default -> throw fail("storage type '" + storageClass + "' is not supported");
        };
    }

    private long[] longs(Object tuple) throws CheckpointException {
        if (!(tuple instanceof Tuple t)) {
            throw fail("tensor size or stride is not a tuple");
        }
        long[] out = new long[t.items.length];
        for (int i = 0; i < out.length; i++) {
            if (!(t.items[i] instanceof Long v) || v < 0) {
                throw fail("tensor size or stride holds a value that is not a non-negative integer");
            }
            out[i] = v;
        }
        return out;
    }

    private Map<Object, Object> toDict(List<Object> kv) throws CheckpointException {
        Map<Object, Object> d = new LinkedHashMap<>();
        for (int i = 0; i + 1 < kv.size(); i += 2) {
            d.put(hashable(kv.get(i)), kv.get(i + 1));
        }
        return d;
    }

    /**
     * Lists and dicts cannot be dict keys (Python: unhashable type); refusing them also keeps a self-containing list
     * from sending hashCode into unbounded recursion.
     */
    private Object hashable(Object key) throws CheckpointException {
        if (key instanceof List || key instanceof Map) {
            throw fail("pickle uses an unhashable " + (key instanceof List ? "list" : "dict") + " as a dict key");
        }
        return key;
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object o) throws CheckpointException {
        if (!(o instanceof Map)) {
            throw fail("pickle sets an item on something that is not a dict");
        }
        return (Map<Object, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object o) throws CheckpointException {
        if (!(o instanceof List)) {
            throw fail("pickle appends to something that is not a list");
        }
        return (List<Object>) o;
    }

    private Object readLong1() {
        int n = in.get() & 0xff;
        byte[] le = new byte[n];
        in.get(le);
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) {
            be[i] = le[n - 1 - i];
        }
        BigInteger v = n == 0 ? BigInteger.ZERO : new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private int length(long n) throws CheckpointException {
        if (n < 0 || n > in.remaining()) {
            throw fail("pickle declares a string of " + n + " bytes, more than remain");
        }
        return (int) n;
    }

    private String utf8(int n) {
        byte[] b = new byte[n];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        in.get(b);
        return b;
    }

    private String readLine() throws CheckpointException {
        StringBuilder sb = new StringBuilder();
        while (true) {
            byte b = in.get();
            if (b == '\n') {
                return sb.toString();
            }
            if (sb.length() > 1024) {
                throw fail("pickle global name is longer than 1024 bytes");
            }
            sb.append((char) (b & 0xff));
        }
    }

    private Object memoGet(long index) throws CheckpointException {
        if (!memo.containsKey(index)) {
            throw fail("pickle refers to memo entry " + index + ", which was never stored");
        }
        return memo.get(index);
    }

    private void push(Object o) throws CheckpointException {
        if (stack.size() >= MAX_STACK) {
            throw fail("pickle stack exceeds " + MAX_STACK + " values");
        }
        if (++values > MAX_VALUES) {
            throw fail("pickle builds more than " + MAX_VALUES + " values; a state dict needs a few per tensor");
        }
        stack.add(o);
    }

    private void memoPut(long index, Object value) throws CheckpointException {
        if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) {
            throw fail("pickle memoizes more than " + MAX_MEMO + " values; a state dict needs a few per tensor");
        }
        memo.put(index, value);
    }

    private Object pop() throws CheckpointException {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) {
            throw fail("pickle pops from an empty stack");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object top() throws CheckpointException {
        if (stack.isEmpty()) {
            throw fail("pickle reads from an empty stack");
        }
        return stack.get(stack.size() - 1);
    }

    private List<Object> popMark() throws CheckpointException {
        if (marks.isEmpty()) {
            throw fail("pickle closes a mark it never opened");
        }
        int m = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private CheckpointException fail(String reason) {
        return new CheckpointException(file, reason);
    }
}
