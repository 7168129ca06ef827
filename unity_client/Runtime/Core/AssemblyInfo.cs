using System.Runtime.CompilerServices;

// The tests check the number formatting and the JSON reader directly.
[assembly: InternalsVisibleTo("Ibeat.Core.Tests")]
