using System;
using System.Globalization;
using System.Text;

namespace Ibeat
{
    /// <summary>
    /// A pull parser over one JSON text: the decoder asks for the value it expects next, so no
    /// document tree is built. Errors throw <see cref="IbeatProtocolException"/> naming the offset.
    /// Usage for an object: <c>BeginObject(); while (NextProperty(out name)) { read or SkipValue(); }</c>.
    /// </summary>
    internal sealed class JsonReader
    {
        // Deeper nesting than any ibeat message has is refused, so a hostile text cannot overflow the stack.
        const int MaxDepth = 64;

        readonly string text;
        int pos;
        int depth;
        // True right after '{' or '[': the next token may close the container or start its first
        // item; false once an item was read, when a ',' must come first.
        bool atContainerStart;
        StringBuilder scratch;

        internal JsonReader(string text)
        {
            if (text == null) throw new IbeatProtocolException("bad JSON: no text");
            this.text = text;
        }

        internal void BeginObject()
        {
            Open('{');
        }

        internal void BeginArray()
        {
            Open('[');
        }

        void Open(char bracket)
        {
            SkipWhitespace();
            Expect(bracket);
            if (++depth > MaxDepth) throw Error("nested deeper than " + MaxDepth);
            atContainerStart = true;
        }

        /// <summary>Moves to the next property of the current object; false at its closing brace.</summary>
        internal bool NextProperty(out string name)
        {
            if (!NextItem('}'))
            {
                name = null;
                return false;
            }
            name = ReadString();
            SkipWhitespace();
            Expect(':');
            return true;
        }

        /// <summary>Moves to the next element of the current array; false at its closing bracket.</summary>
        internal bool NextElement()
        {
            return NextItem(']');
        }

        bool NextItem(char close)
        {
            SkipWhitespace();
            if (Peek() == close)
            {
                pos++;
                depth--;
                // The container just closed was an item of its parent.
                atContainerStart = false;
                return false;
            }
            if (!atContainerStart)
            {
                Expect(',');
                SkipWhitespace();
            }
            atContainerStart = false;
            return true;
        }

        /// <summary>Consumes a JSON null if one comes next (proto3 JSON: the field keeps its default).</summary>
        internal bool TryReadNull()
        {
            SkipWhitespace();
            if (string.CompareOrdinal(text, pos, "null", 0, 4) == 0)
            {
                pos += 4;
                return true;
            }
            return false;
        }

        internal bool ReadBool()
        {
            SkipWhitespace();
            if (string.CompareOrdinal(text, pos, "true", 0, 4) == 0) { pos += 4; return true; }
            if (string.CompareOrdinal(text, pos, "false", 0, 5) == 0) { pos += 5; return false; }
            throw Error("expected true or false");
        }

        /// <summary>Reads a string value (escapes decoded).</summary>
        internal string ReadString()
        {
            SkipWhitespace();
            if (Peek() != '"') throw Error("expected a string");
            int start = ++pos;
            // Fast path: no escapes, one Substring.
            while (pos < text.Length)
            {
                char c = text[pos];
                if (c == '"')
                {
                    string s = text.Substring(start, pos - start);
                    pos++;
                    return s;
                }
                if (c == '\\') break;
                if (c < ' ') throw Error("control character in a string");
                pos++;
            }
            if (pos >= text.Length) throw Error("unterminated string");
            if (scratch == null) scratch = new StringBuilder();
            scratch.Length = 0;
            scratch.Append(text, start, pos - start);
            while (true)
            {
                if (pos >= text.Length) throw Error("unterminated string");
                char c = text[pos++];
                if (c == '"') return scratch.ToString();
                if (c < ' ') throw Error("control character in a string");
                if (c != '\\')
                {
                    scratch.Append(c);
                    continue;
                }
                if (pos >= text.Length) throw Error("unterminated string");
                char e = text[pos++];
                switch (e)
                {
                    case '"': scratch.Append('"'); break;
                    case '\\': scratch.Append('\\'); break;
                    case '/': scratch.Append('/'); break;
                    case 'b': scratch.Append('\b'); break;
                    case 'f': scratch.Append('\f'); break;
                    case 'n': scratch.Append('\n'); break;
                    case 'r': scratch.Append('\r'); break;
                    case 't': scratch.Append('\t'); break;
                    case 'u':
                        // Surrogate pairs arrive as two \u escapes; appending both halves rebuilds them.
                        if (pos + 4 > text.Length) throw Error("short \\u escape");
                        int code = 0;
                        for (int i = 0; i < 4; i++)
                        {
                            int h = HexValue(text[pos++]);
                            if (h < 0) throw Error("bad \\u escape");
                            code = code * 16 + h;
                        }
                        scratch.Append((char)code);
                        break;
                    default:
                        throw Error("bad escape \\" + e);
                }
            }
        }

        static int HexValue(char c)
        {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        }

        /// <summary>Reads an int64 field: proto3 JSON sends it as a decimal string, but a number
        /// (also 1e3 or 5.0, if integral) is accepted.</summary>
        internal long ReadInt64()
        {
            return (long)ReadIntegral(long.MinValue, long.MaxValue, "int64");
        }

        internal ulong ReadUInt64()
        {
            return (ulong)ReadIntegral(0m, ulong.MaxValue, "uint64");
        }

        internal int ReadInt32()
        {
            return (int)ReadIntegral(int.MinValue, int.MaxValue, "int32");
        }

        internal uint ReadUInt32()
        {
            return (uint)ReadIntegral(0m, uint.MaxValue, "uint32");
        }

        // decimal holds every int64 and uint64 exactly, so one parser serves all integer fields.
        decimal ReadIntegral(decimal min, decimal max, string type)
        {
            SkipWhitespace();
            int at = pos;
            string token = Peek() == '"' ? ReadString() : ReadNumberToken();
            decimal value;
            if (!decimal.TryParse(token, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                                  CultureInfo.InvariantCulture, out value)
                || value != decimal.Truncate(value) || value < min || value > max)
            {
                throw new IbeatProtocolException("bad JSON at offset " + at + ": \"" + token + "\" is not a valid " + type);
            }
            return value;
        }

        /// <summary>Reads a double: a number, or one of the strings "NaN", "Infinity", "-Infinity"
        /// (proto3 JSON), or a number in a string.</summary>
        internal double ReadDouble()
        {
            SkipWhitespace();
            int at = pos;
            string token;
            if (Peek() == '"')
            {
                token = ReadString();
                if (token == "NaN") return double.NaN;
                if (token == "Infinity") return double.PositiveInfinity;
                if (token == "-Infinity") return double.NegativeInfinity;
            }
            else
            {
                token = ReadNumberToken();
            }
            double value;
            if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out value))
                throw new IbeatProtocolException("bad JSON at offset " + at + ": \"" + token + "\" is not a number");
            return value;
        }

        internal float ReadFloat()
        {
            return (float)ReadDouble();
        }

        /// <summary>Reads an enum: its proto name (looked up in <paramref name="names"/>, indexed by
        /// number) or its number. An unknown name throws: the value cannot be represented.</summary>
        internal int ReadEnum(string[] names, string enumName)
        {
            SkipWhitespace();
            if (Peek() != '"') return ReadInt32();
            int at = pos;
            string name = ReadString();
            for (int i = 0; i < names.Length; i++)
            {
                if (names[i] == name) return i;
            }
            throw new IbeatProtocolException("bad JSON at offset " + at + ": \"" + name + "\" is not a " + enumName);
        }

        /// <summary>Skips one value of any type (an unknown field's).</summary>
        internal void SkipValue()
        {
            SkipWhitespace();
            char c = Peek();
            if (c == '{')
            {
                BeginObject();
                string ignored;
                while (NextProperty(out ignored)) SkipValue();
            }
            else if (c == '[')
            {
                BeginArray();
                while (NextElement()) SkipValue();
            }
            else if (c == '"')
            {
                ReadString();
            }
            else if (c == 't' || c == 'f')
            {
                ReadBool();
            }
            else if (c == 'n')
            {
                if (!TryReadNull()) throw Error("expected a value");
            }
            else
            {
                ReadNumberToken();
            }
        }

        /// <summary>Checks that nothing but whitespace follows the top-level value.</summary>
        internal void EnsureEnd()
        {
            SkipWhitespace();
            if (pos != text.Length) throw Error("text after the end of the message");
        }

        // Reads a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        string ReadNumberToken()
        {
            SkipWhitespace();
            int start = pos;
            if (Peek() == '-') pos++;
            if (!IsDigit(Peek())) throw Error("expected a value");
            if (Peek() == '0') pos++;
            else while (IsDigit(Peek())) pos++;
            if (Peek() == '.')
            {
                pos++;
                if (!IsDigit(Peek())) throw Error("expected a digit after the decimal point");
                while (IsDigit(Peek())) pos++;
            }
            if (Peek() == 'e' || Peek() == 'E')
            {
                pos++;
                if (Peek() == '+' || Peek() == '-') pos++;
                if (!IsDigit(Peek())) throw Error("expected an exponent");
                while (IsDigit(Peek())) pos++;
            }
            return text.Substring(start, pos - start);
        }

        static bool IsDigit(char c)
        {
            return c >= '0' && c <= '9';
        }

        // '\0' at the end of the text: never a valid token start, so every check fails cleanly.
        char Peek()
        {
            return pos < text.Length ? text[pos] : '\0';
        }

        void Expect(char c)
        {
            if (Peek() != c) throw Error("expected '" + c + "'");
            pos++;
        }

        void SkipWhitespace()
        {
            while (pos < text.Length)
            {
                char c = text[pos];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
                pos++;
            }
        }

        IbeatProtocolException Error(string what)
        {
            string found = pos < text.Length ? "'" + text[pos] + "'" : "the end";
            return new IbeatProtocolException("bad JSON at offset " + pos + ": " + what + ", found " + found);
        }
    }
}
