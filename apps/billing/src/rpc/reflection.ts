// gRPC server reflection (grpc.reflection.v1 and v1alpha), so grpcurl and buf curl work without
// .proto files. It answers from the descriptors embedded in the generated code: a file is sent with
// all of its transitive imports, as serialized FileDescriptorProtos.
import { create, toBinary, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import type { ServiceImpl } from "@connectrpc/connect";
import * as v1 from "@billing/proto/grpc/reflection/v1/reflection_pb";
import * as v1alpha from "@billing/proto/grpc/reflection/v1alpha/reflection_pb";

/** The request and response shapes of v1 and v1alpha are identical but for the package name. */
type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
/** A response in a shape that both versions' generated types accept. */
interface ReflectionResponseInit {
  validHost: string;
  messageResponse:
    | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
    | { case: "listServicesResponse"; value: { service: { name: string }[] } }
    | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };
}

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

export class ReflectionIndex {
  readonly #filesByName = new Map<string, DescFile>();
  readonly #fileBySymbol = new Map<string, DescFile>();
  readonly #serialized = new Map<string, Uint8Array>();
  readonly #services: string[] = [];

  /** `files` are the files to expose; their imports are added as well. */
  constructor(files: readonly DescFile[], servedServices: readonly string[]) {
    for (const file of files) this.#add(file);
    this.#services = [...servedServices].sort();
  }

  #add(file: DescFile): void {
    if (this.#filesByName.has(file.name + ".proto")) return;
    this.#filesByName.set(file.name + ".proto", file);
    for (const type of nestedTypes(file)) {
      this.#fileBySymbol.set(type.typeName, file);
      if (type.kind === "service") {
        for (const method of type.methods) this.#fileBySymbol.set(`${type.typeName}.${method.name}`, file);
      }
    }
    for (const dependency of file.dependencies) this.#add(dependency);
  }

  answer(request: ReflectionRequest): ReflectionResponseInit {
    const query = request.messageRequest;
    switch (query.case) {
      case "listServices":
        return {
          validHost: request.host,
          messageResponse: {
            case: "listServicesResponse",
            value: { service: this.#services.map((name) => ({ name })) },
          },
        };
      case "fileByFilename":
        return this.#files(request.host, this.#filesByName.get(query.value), `file ${query.value}`);
      case "fileContainingSymbol":
        return this.#files(
          request.host,
          this.#fileBySymbol.get(query.value.replace(/^\./, "")),
          `symbol ${query.value}`,
        );
      case "fileContainingExtension":
      case "allExtensionNumbersOfType":
        // Billing's contract defines no extensions.
        return this.#error(request.host, NOT_FOUND, "no extensions are defined");
      case undefined:
        return this.#error(request.host, UNIMPLEMENTED, "empty reflection request");
    }
  }

  #files(host: string, file: DescFile | undefined, what: string): ReflectionResponseInit {
    if (file === undefined) return this.#error(host, NOT_FOUND, `${what} not found`);
    const ordered: DescFile[] = [];
    const seen = new Set<string>();
    // The requested file first, then its transitive imports.
    const visit = (f: DescFile) => {
      if (seen.has(f.name)) return;
      seen.add(f.name);
      ordered.push(f);
      for (const dependency of f.dependencies) visit(dependency);
    };
    visit(file);
    return {
      validHost: host,
      messageResponse: {
        case: "fileDescriptorResponse",
        value: { fileDescriptorProto: ordered.map((f) => this.#serialize(f)) },
      },
    };
  }

  #serialize(file: DescFile): Uint8Array {
    let bytes = this.#serialized.get(file.name);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.#serialized.set(file.name, bytes);
    }
    return bytes;
  }

  #error(host: string, errorCode: number, errorMessage: string): ReflectionResponseInit {
    return {
      validHost: host,
      messageResponse: { case: "errorResponse", value: { errorCode, errorMessage } },
    };
  }
}

/** Upper bound on requests per reflection stream, so one client cannot hold a stream forever. */
const MAX_REQUESTS_PER_STREAM = 10_000;

export function reflectionV1(index: ReflectionIndex): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      let count = 0;
      for await (const request of requests) {
        if (++count > MAX_REQUESTS_PER_STREAM) return;
        yield create(v1.ServerReflectionResponseSchema, {
          ...index.answer(request),
          originalRequest: request,
        });
      }
    },
  };
}

export function reflectionV1alpha(index: ReflectionIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      let count = 0;
      for await (const request of requests) {
        if (++count > MAX_REQUESTS_PER_STREAM) return;
        yield create(v1alpha.ServerReflectionResponseSchema, {
          ...index.answer(request),
          originalRequest: request,
        });
      }
    },
  };
}
