package io.laketune.prep.source;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.time.ZoneOffset;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.BinaryType;
import org.apache.spark.sql.types.BooleanType;
import org.apache.spark.sql.types.ByteType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.DecimalType;
import org.apache.spark.sql.types.DoubleType;
import org.apache.spark.sql.types.FloatType;
import org.apache.spark.sql.types.IntegerType;
import org.apache.spark.sql.types.LongType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.ShortType;
import org.apache.spark.sql.types.StringType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.types.VariantType;
import org.apache.spark.unsafe.types.VariantVal;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A value of a Spark row as the JSON value a JSONL line would hold for it, so the formats read table
 * rows exactly as they read JSON objects: strings, numbers and booleans as themselves (decimals as
 * a JSON reader reads their text), arrays as
 * arrays (a null element stays, as null), structs and maps as objects whose null fields are left out
 * (a null is an absent field, as formats already treat JSON null), variants as their JSON, dates and
 * timestamps as their ISO text, binary as binary (which no format accepts).
 */
final class JsonValues {

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  private static final ObjectMapper JSON = new ObjectMapper();

  private JsonValues() {}

  /** @return the JSON value, or null for a null value */
  static JsonNode of(Object value, DataType type) {
    if (value == null) {
      return null;
    }
    if (type instanceof StringType) {
      return NODES.textNode(value.toString());
    }
    if (type instanceof IntegerType || type instanceof ShortType || type instanceof ByteType) {
      return NODES.numberNode(((Number) value).intValue());
    }
    if (type instanceof LongType) {
      return NODES.numberNode((Long) value);
    }
    if (type instanceof DoubleType) {
      return NODES.numberNode((Double) value);
    }
    if (type instanceof FloatType) {
      return NODES.numberNode((Float) value);
    }
    if (type instanceof DecimalType) {
      // As a JSON reader reads the decimal's text: 123 an integer, 1.50 the double 1.5 (so a split
      // key hashes as it would from JSONL written by to_json).
      BigDecimal b = value instanceof BigDecimal d ? d : new BigDecimal(value.toString());
      try {
        return JSON.readTree(b.toPlainString());
      } catch (java.io.IOException e) {
        throw new IllegalStateException("a decimal's text is a JSON number", e);
      }
    }
    if (type instanceof BooleanType) {
      return NODES.booleanNode((Boolean) value);
    }
    if (type instanceof BinaryType) {
      return NODES.binaryNode((byte[]) value);
    }
    if (type instanceof ArrayType array) {
      ArrayNode out = NODES.arrayNode();
      for (Object element : elements(value)) {
        JsonNode node = of(element, array.elementType());
        out.add(node == null ? NODES.nullNode() : node);
      }
      return out;
    }
    if (type instanceof StructType struct) {
      Row row = (Row) value;
      ObjectNode out = NODES.objectNode();
      StructField[] fields = struct.fields();
      for (int i = 0; i < fields.length; i++) {
        JsonNode node = of(row.get(i), fields[i].dataType());
        if (node != null) {
          out.set(fields[i].name(), node);
        }
      }
      return out;
    }
    if (type instanceof MapType map) {
      ObjectNode out = NODES.objectNode();
      for (Map.Entry<?, ?> e : entries(value).entrySet()) {
        JsonNode node = of(e.getValue(), map.valueType());
        if (node != null && e.getKey() != null) {
          out.set(e.getKey().toString(), node);
        }
      }
      return out;
    }
    if (type instanceof VariantType && value instanceof VariantVal variant) {
      try {
        return JSON.readTree(variant.toJson(ZoneOffset.UTC));
      } catch (java.io.IOException e) {
        throw new IllegalStateException("a variant's JSON always parses", e);
      }
    }
    // dates, timestamps, intervals: their text
    return NODES.textNode(value.toString());
  }

  private static Iterable<?> elements(Object value) {
    if (value instanceof scala.collection.Seq<?> seq) {
      return CollectionConverters.asJava(seq);
    }
    if (value instanceof java.util.List<?> list) {
      return list;
    }
    if (value instanceof Object[] array) {
      return java.util.Arrays.asList(array);
    }
    throw new IllegalStateException("an array column holds " + value.getClass().getName());
  }

  private static Map<?, ?> entries(Object value) {
    if (value instanceof scala.collection.Map<?, ?> map) {
      return CollectionConverters.asJava(map);
    }
    if (value instanceof Map<?, ?> map) {
      return map;
    }
    throw new IllegalStateException("a map column holds " + value.getClass().getName());
  }
}
