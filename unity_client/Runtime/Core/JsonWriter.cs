using System;
using System.Globalization;
using System.Text;

namespace Ibeat
{
    /// <summary>
    /// Appends JSON values to a <see cref="StringBuilder"/>. Numbers are formatted by hand because
    /// <c>StringBuilder.Append(long)</c> and <c>float.ToString()</c> allocate a string each on Mono,
    /// and a 3D frame has up to 76 floats, 60+ times a second.
    /// </summary>
    internal static class JsonWriter
    {
        // 10^0 .. 10^18: every power of ten a long holds.
        static readonly long[] LongPowersOfTen = BuildLongPowers();

        // 10^0 .. 10^70, each the double nearest to it (parsed, so correctly rounded). A float's
        // decimal exponent lies in [-45, 38]; scaling it to 17 digits needs up to 10^62.
        static readonly double[] DoublePowersOfTen = BuildDoublePowers(70);

        static long[] BuildLongPowers()
        {
            var p = new long[19];
            p[0] = 1;
            for (int i = 1; i < p.Length; i++) p[i] = p[i - 1] * 10;
            return p;
        }

        static double[] BuildDoublePowers(int max)
        {
            var p = new double[max + 1];
            for (int i = 0; i <= max; i++)
                p[i] = double.Parse("1e" + i.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            return p;
        }

        /// <summary>Appends a quoted JSON string; control characters, quotes and backslashes escaped.</summary>
        internal static void AppendString(StringBuilder sb, string value)
        {
            sb.Append('"');
            if (value != null)
            {
                for (int i = 0; i < value.Length; i++)
                {
                    char c = value[i];
                    switch (c)
                    {
                        case '"': sb.Append("\\\""); break;
                        case '\\': sb.Append("\\\\"); break;
                        case '\n': sb.Append("\\n"); break;
                        case '\r': sb.Append("\\r"); break;
                        case '\t': sb.Append("\\t"); break;
                        case '\b': sb.Append("\\b"); break;
                        case '\f': sb.Append("\\f"); break;
                        default:
                            if (c < ' ')
                            {
                                sb.Append("\\u00");
                                sb.Append(HexDigit(c >> 4));
                                sb.Append(HexDigit(c & 15));
                            }
                            else
                            {
                                sb.Append(c);
                            }
                            break;
                    }
                }
            }
            sb.Append('"');
        }

        static char HexDigit(int v)
        {
            return (char)(v < 10 ? '0' + v : 'a' + v - 10);
        }

        /// <summary>Appends a signed integer as bare digits (int32/uint32 fields).</summary>
        internal static void AppendInt64(StringBuilder sb, long value)
        {
            if (value < 0)
            {
                sb.Append('-');
                // -long.MinValue overflows; its magnitude still fits a ulong.
                AppendUInt64(sb, (ulong)(-(value + 1)) + 1UL);
                return;
            }
            AppendUInt64(sb, (ulong)value);
        }

        /// <summary>Appends an unsigned integer as bare digits.</summary>
        internal static void AppendUInt64(StringBuilder sb, ulong value)
        {
            if (value > long.MaxValue)
            {
                // Past the long digit table: write all but the last digit, then the last.
                AppendUInt64(sb, value / 10);
                sb.Append((char)('0' + (int)(value % 10)));
                return;
            }
            long v = (long)value;
            AppendDigits(sb, v, DigitCount(v));
        }

        /// <summary>Appends a 64-bit integer the proto3 JSON way: a quoted decimal string (int64 does
        /// not fit a JavaScript number).</summary>
        internal static void AppendQuotedInt64(StringBuilder sb, long value)
        {
            sb.Append('"');
            AppendInt64(sb, value);
            sb.Append('"');
        }

        internal static void AppendQuotedUInt64(StringBuilder sb, ulong value)
        {
            sb.Append('"');
            AppendUInt64(sb, value);
            sb.Append('"');
        }

        internal static void AppendBool(StringBuilder sb, bool value)
        {
            sb.Append(value ? "true" : "false");
        }

        /// <summary>
        /// Appends a float as the shortest decimal that reads back as the same float (at most 9
        /// significant digits); NaN and infinities as the proto3 JSON strings "NaN", "Infinity",
        /// "-Infinity". Allocation-free.
        /// </summary>
        internal static void AppendFloat(StringBuilder sb, float value)
        {
            if (float.IsNaN(value)) { sb.Append("\"NaN\""); return; }
            if (float.IsPositiveInfinity(value)) { sb.Append("\"Infinity\""); return; }
            if (float.IsNegativeInfinity(value)) { sb.Append("\"-Infinity\""); return; }
            if (value == 0f) { sb.Append('0'); return; }

            double v = value;
            if (v < 0) { sb.Append('-'); v = -v; }
            float target = (float)v;

            // Decimal exponent of the leading digit. Log10 may be off by one next to a power of
            // ten; that only costs one more round of the loop below, which checks every candidate.
            int leadExponent = (int)Math.Floor(Math.Log10(v));
            long digits = 0;
            int scale = 0;   // value = digits * 10^scale
            for (int precision = 1; precision <= 17; precision++)
            {
                scale = leadExponent - precision + 1;
                double scaled = scale >= 0 ? v / PowerOfTen(scale) : v * PowerOfTen(-scale);
                digits = (long)Math.Round(scaled);
                double back = scale >= 0 ? digits * PowerOfTen(scale) : digits / PowerOfTen(-scale);
                // 9 significant digits always round-trip a float, so this ends by precision 10.
                // The bound keeps "3.4028235e38" (above float.MaxValue as a double) out: protobuf's
                // Python parser refuses it as too large; "3.402823466e38" passes.
                if ((float)back == target && back <= float.MaxValue) break;
            }
            while (digits != 0 && digits % 10 == 0) { digits /= 10; scale++; }

            int count = DigitCount(digits);
            int exponent = scale + count - 1;   // decimal exponent of the first digit
            if (exponent >= -6 && exponent < 21)
            {
                if (scale >= 0)
                {
                    AppendDigits(sb, digits, count);
                    for (int i = 0; i < scale; i++) sb.Append('0');
                }
                else if (exponent >= 0)
                {
                    // Integer part = the first exponent + 1 digits.
                    int fraction = count - exponent - 1;
                    AppendDigits(sb, digits / LongPowersOfTen[fraction], exponent + 1);
                    sb.Append('.');
                    AppendDigits(sb, digits % LongPowersOfTen[fraction], fraction);
                }
                else
                {
                    sb.Append("0.");
                    for (int i = -1; i > exponent; i--) sb.Append('0');
                    AppendDigits(sb, digits, count);
                }
            }
            else
            {
                // Scientific: d.ddde-7, as JSON and every float parser read it.
                AppendDigits(sb, digits / LongPowersOfTen[count - 1], 1);
                if (count > 1)
                {
                    sb.Append('.');
                    AppendDigits(sb, digits % LongPowersOfTen[count - 1], count - 1);
                }
                sb.Append('e');
                AppendInt64(sb, exponent);
            }
        }

        /// <summary>Appends a double that reads back exactly ("R", checked, else 17 digits); NaN
        /// and infinities as strings. Allocates: used for the few doubles of rare messages only.</summary>
        internal static void AppendDouble(StringBuilder sb, double value)
        {
            if (double.IsNaN(value)) { sb.Append("\"NaN\""); return; }
            if (double.IsPositiveInfinity(value)) { sb.Append("\"Infinity\""); return; }
            if (double.IsNegativeInfinity(value)) { sb.Append("\"-Infinity\""); return; }
            // Old .NET Framework "R" did not always round-trip doubles; G17 always does.
            string text = value.ToString("R", CultureInfo.InvariantCulture);
            if (double.Parse(text, CultureInfo.InvariantCulture) != value)
                text = value.ToString("G17", CultureInfo.InvariantCulture);
            sb.Append(text);
        }

        static double PowerOfTen(int exponent)
        {
            return DoublePowersOfTen[exponent];
        }

        static int DigitCount(long v)
        {
            int n = 1;
            while (n < 19 && v >= LongPowersOfTen[n]) n++;
            return n;
        }

        // Appends exactly `count` digits of v (with leading zeros), most significant first.
        static void AppendDigits(StringBuilder sb, long v, int count)
        {
            for (int i = count - 1; i >= 0; i--)
                sb.Append((char)('0' + (int)(v / LongPowersOfTen[i] % 10)));
        }
    }
}
