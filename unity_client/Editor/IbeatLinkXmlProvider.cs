using System;
using System.IO;
using System.Text;
using UnityEditor.Build;
using UnityEditor.Build.Reporting;
using UnityEditor.UnityLinker;

namespace Ibeat.Unity.EditorTools
{
    /// <summary>
    /// Hands the IL2CPP / managed-stripping linker a link.xml for the optional gRPC transport. A
    /// link.xml inside a package is ignored (only Assets/ is searched), so it is written at build
    /// time into Library/ and its path returned. With the <c>Ibeat.Grpc</c> assembly in the build it
    /// preserves that assembly and the libraries it reaches by reflection or generated code
    /// (Google.Protobuf, Grpc.Net.Client, Grpc.Core.Api); without it the file preserves nothing.
    /// </summary>
    sealed class IbeatLinkXmlProvider : IUnityLinkerProcessor
    {
        internal const string GrpcAssembly = "Ibeat.Grpc";
        internal static readonly string[] GrpcPreserved = { GrpcAssembly, "Google.Protobuf", "Grpc.Net.Client", "Grpc.Core.Api" };

        public int callbackOrder => 0;

        public string GenerateAdditionalLinkXmlFile(BuildReport report, UnityLinkerBuildPipelineData data)
        {
            string dir = Path.GetFullPath(Path.Combine("Library", "com.ibeat.client"));
            Directory.CreateDirectory(dir);
            string path = Path.Combine(dir, "link.xml");
            File.WriteAllText(path, LinkXml(HasGrpcAssembly()), new UTF8Encoding(false));
            return path;
        }

#if !UNITY_2021_2_OR_NEWER
        public void OnBeforeRun(BuildReport report, UnityLinkerBuildPipelineData data) { }
        public void OnAfterRun(BuildReport report, UnityLinkerBuildPipelineData data) { }
#endif

        /// <summary>Ibeat.Grpc compiles only where IBEAT_GRPC is defined (YetAnotherHttpHandler installed).</summary>
        internal static bool HasGrpcAssembly()
        {
            foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
                if (assembly.GetName().Name == GrpcAssembly) return true;
            return false;
        }

        internal static string LinkXml(bool grpc)
        {
            var xml = new StringBuilder();
            xml.AppendLine("<?xml version=\"1.0\" encoding=\"utf-8\"?>");
            xml.AppendLine("<!-- Written by com.ibeat.client (IbeatLinkXmlProvider) for each player build. -->");
            xml.AppendLine("<linker>");
            if (grpc)
                foreach (string name in GrpcPreserved)
                    xml.AppendLine("  <assembly fullname=\"" + name + "\" preserve=\"all\" />");
            xml.AppendLine("</linker>");
            return xml.ToString();
        }
    }
}
