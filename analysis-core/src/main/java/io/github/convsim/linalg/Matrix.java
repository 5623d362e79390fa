package io.github.convsim.linalg;

import java.util.Arrays;
import java.util.List;

/**
 * A dense matrix of doubles in column-major order (LAPACK's layout): element (i, j) is {@code data[i + j * rows]}.
 * The array is shared, not copied: backends write into it where their contract says so.
 */
public final class Matrix {
    private final int rows;
    private final int cols;
    private final double[] data;

    public Matrix(int rows, int cols, double[] data) {
        if (rows < 0 || cols < 0 || (long) rows * cols != data.length) {
            throw new IllegalArgumentException(rows + "x" + cols + " matrix cannot hold " + data.length + " values");
        }
        this.rows = rows;
        this.cols = cols;
        this.data = data;
    }

    public static Matrix zeros(int rows, int cols) {
        return new Matrix(rows, cols, new double[Math.multiplyExact(rows, cols)]);
    }

    /** The matrix whose row-major elements are {@code rowMajor} (PyTorch's layout), copied into column-major. */
    public static Matrix fromRowMajor(int rows, int cols, double[] rowMajor) {
        return new Matrix(cols, rows, rowMajor).transpose();
    }

    public static Matrix identity(int n) {
        Matrix m = zeros(n, n);
        for (int i = 0; i < n; i++) {
            m.data[i + i * n] = 1;
        }
        return m;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** The backing column-major array (not a copy). */
    public double[] data() {
        return data;
    }

    public double get(int i, int j) {
        return data[i + j * rows];
    }

    public void set(int i, int j, double v) {
        data[i + j * rows] = v;
    }

    public Matrix copy() {
        return new Matrix(rows, cols, data.clone());
    }

    /** The symmetric matrix whose upper triangle (diagonal included) is this square matrix's; the lower is ignored. */
    public Matrix symmetrizedFromUpper() {
        if (rows != cols) {
            throw new IllegalArgumentException("a symmetric matrix is square, got " + shapeString());
        }
        double[] s = data.clone();
        for (int j = 0; j < cols; j++) {
            for (int i = j + 1; i < rows; i++) {
                s[i + j * rows] = s[j + i * rows];
            }
        }
        return new Matrix(rows, cols, s);
    }

    public Matrix transpose() {
        double[] t = new double[data.length];
        int block = 64;
        for (int jb = 0; jb < cols; jb += block) {
            for (int ib = 0; ib < rows; ib += block) {
                int jm = Math.min(cols, jb + block);
                int im = Math.min(rows, ib + block);
                for (int j = jb; j < jm; j++) {
                    for (int i = ib; i < im; i++) {
                        t[j + i * cols] = data[i + j * rows];
                    }
                }
            }
        }
        return new Matrix(cols, rows, t);
    }

    /** Rows [from, from + count) as a new matrix. */
    public Matrix rowSlice(int from, int count) {
        Matrix m = zeros(count, cols);
        for (int j = 0; j < cols; j++) {
            System.arraycopy(data, from + j * rows, m.data, j * count, count);
        }
        return m;
    }

    /** Columns [0, count) as a new matrix. */
    public Matrix leadingColumns(int count) {
        return columnSlice(0, count);
    }

    /** Columns [from, from + count) as a new matrix (one copy: columns are contiguous). */
    public Matrix columnSlice(int from, int count) {
        return new Matrix(rows, count, Arrays.copyOfRange(data, from * rows, (from + count) * rows));
    }

    /** [left | right]: the columns of both, side by side (one copy each: columns are contiguous). */
    public static Matrix hstack(Matrix left, Matrix right) {
        return hstack(List.of(left, right));
    }

    /** [M_1 | ... | M_k]: the matrices side by side (column-major, so their data one after another). */
    public static Matrix hstack(List<Matrix> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("no matrices to put side by side");
        }
        int rows = parts.get(0).rows;
        long length = 0;
        int cols = 0;
        for (Matrix p : parts) {
            if (p.rows != rows) {
                throw new IllegalArgumentException("cannot put " + p.shapeString() + " beside "
                        + parts.get(0).shapeString());
            }
            length += p.data.length;
            cols += p.cols;
        }
        double[] d = new double[Math.toIntExact(length)];
        int at = 0;
        for (Matrix p : parts) {
            System.arraycopy(p.data, 0, d, at, p.data.length);
            at += p.data.length;
        }
        return new Matrix(rows, cols, d);
    }

    public double frobeniusNorm() {
        double scale = 0;
        double ssq = 1;
        for (double v : data) {
            if (v != 0) {
                double a = Math.abs(v);
                if (scale < a) {
                    ssq = 1 + ssq * (scale / a) * (scale / a);
                    scale = a;
                } else {
                    ssq += (a / scale) * (a / scale);
                }
            }
        }
        return scale * Math.sqrt(ssq);
    }

    /** The first non-finite element's (row, col), or null if all are finite. */
    public int[] firstNonFinite() {
        for (int k = 0; k < data.length; k++) {
            if (!Double.isFinite(data[k])) {
                return new int[] {k % rows, k / rows};
            }
        }
        return null;
    }

    /**
     * This matrix times {@code other}, in plain Java: for small products where no backend is at hand (materialising
     * LoRA factors, r x n x n). Batched or large products belong to a {@link LinalgBackend}.
     */
    public Matrix times(Matrix other) {
        if (cols != other.rows) {
            throw new IllegalArgumentException("cannot multiply " + shapeString() + " by " + other.shapeString());
        }
        Matrix c = zeros(rows, other.cols);
        for (int j = 0; j < other.cols; j++) {
            for (int k = 0; k < cols; k++) {
                double v = other.data[k + j * other.rows];
                if (v == 0) {
                    continue;
                }
                int src = k * rows;
                int dst = j * rows;
                for (int i = 0; i < rows; i++) {
                    c.data[dst + i] += data[src + i] * v;
                }
            }
        }
        return c;
    }

    public Matrix scale(double s) {
        double[] d = data.clone();
        for (int k = 0; k < d.length; k++) {
            d[k] *= s;
        }
        return new Matrix(rows, cols, d);
    }

    /** Values rounded to float and back: what an fp32 computation starts from. */
    public Matrix roundedToFloat() {
        double[] d = new double[data.length];
        for (int k = 0; k < d.length; k++) {
            d[k] = (float) data[k];
        }
        return new Matrix(rows, cols, d);
    }

    public String shapeString() {
        return rows + "x" + cols;
    }

    @Override
    public String toString() {
        return "Matrix[" + shapeString() + "]";
    }
}
