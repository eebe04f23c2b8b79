package io.laketune.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Rotary position embedding in HF's "rotate half" layout: for each head, with x = [x1, x2] split at
 * D/2, y1 = x1 cos - x2 sin and y2 = x2 cos + x1 sin, angle = position * invFreq[i].
 *
 * <p>Shapes: x [N, H*D] (rows are tokens, each with its own position), tables [N, 1, D/2].
 * Angles are formed in fp32 as HF does ({@code inv_freq} and {@code position * inv_freq} are fp32
 * tensors there), so long positions round like the reference; cos/sin are then taken exactly.
 */
public final class Rope {
  private final float[] invFreq;
  private final double attentionScaling;
  private final DataType type;
  private INDArray cosTable;
  private INDArray sinTable;

  /** @param invFreq D/2 inverse frequencies; @param attentionScaling factor on cos and sin (1 mostly) */
  public Rope(float[] invFreq, double attentionScaling, DataType type) {
    this.invFreq = invFreq.clone();
    this.attentionScaling = attentionScaling;
    this.type = type;
  }

  public int halfDim() {
    return invFreq.length;
  }

  /** The cos and sin rows of the given positions, [N, 1, D/2] each. */
  public record Tables(INDArray cos, INDArray sin) {}

  public Tables tables(int[] positions) {
    int max = 0;
    for (int p : positions) {
      if (p < 0) throw new IllegalArgumentException("negative position id " + p);
      max = Math.max(max, p);
    }
    ensure(max + 1);
    long n = positions.length;
    INDArray c = Nd4j.pullRows(cosTable, 1, positions).reshape('c', n, 1, halfDim());
    INDArray s = Nd4j.pullRows(sinTable, 1, positions).reshape('c', n, 1, halfDim());
    return new Tables(c, s);
  }

  private void ensure(int positions) {
    if (cosTable != null && cosTable.rows() >= positions) return;
    int rows = Math.max(positions, cosTable == null ? 0 : 2 * cosTable.rows());
    int h = halfDim();
    double[] cos = new double[rows * h];
    double[] sin = new double[rows * h];
    for (int p = 0; p < rows; p++) {
      for (int i = 0; i < h; i++) {
        float angle = (float) p * invFreq[i];
        cos[p * h + i] = Math.cos(angle) * attentionScaling;
        sin[p * h + i] = Math.sin(angle) * attentionScaling;
      }
    }
    try (var ws = Workspaces.outside()) {
      cosTable = Nd4j.create(cos, new long[] {rows, h}, DataType.DOUBLE).castTo(type);
      sinTable = Nd4j.create(sin, new long[] {rows, h}, DataType.DOUBLE).castTo(type);
    }
  }

  public INDArray forward(INDArray x, int heads, Tables t) {
    return rotate(x, heads, t.cos, t.sin, false);
  }

  /** The transpose of the rotation: dx1 = dy1 cos + dy2 sin, dx2 = dy2 cos - dy1 sin. */
  public INDArray backward(INDArray dy, int heads, Tables t) {
    return rotate(dy, heads, t.cos, t.sin, true);
  }

  private INDArray rotate(INDArray x, int heads, INDArray cos, INDArray sin, boolean inverse) {
    long n = x.rows();
    int h = halfDim();
    if (FloatKernels.dense(x, cos, sin)) {
      INDArray y = Nd4j.create(x.dataType(), x.shape());
      FloatKernels.rope(FloatKernels.buffer(x), FloatKernels.buffer(cos), FloatKernels.buffer(sin), FloatKernels.buffer(y),
          (int) n, heads, h, inverse);
      return y;
    }
    INDArray x3 = x.reshape('c', n, heads, 2L * h);
    INDArray y = Nd4j.create(x.dataType(), n, heads, 2L * h);
    INDArrayIndex all = NDArrayIndex.all();
    INDArray x1 = x3.get(all, all, NDArrayIndex.interval(0, h));
    INDArray x2 = x3.get(all, all, NDArrayIndex.interval(h, 2 * h));
    INDArray y1 = y.get(all, all, NDArrayIndex.interval(0, h));
    INDArray y2 = y.get(all, all, NDArrayIndex.interval(h, 2 * h));
    if (!inverse) {
      y1.assign(x1.mul(cos).subi(x2.mul(sin)));
      y2.assign(x2.mul(cos).addi(x1.mul(sin)));
    } else {
      y1.assign(x1.mul(cos).addi(x2.mul(sin)));
      y2.assign(x2.mul(cos).subi(x1.mul(sin)));
    }
    return y.reshape('c', n, heads * 2L * h);
  }
}
