/**
 * @module grpc/transcoder
 * The `.proto` files of a `grpc-transcode` plugin entry, compiled once into what a request
 * needs: the binding its method and path take, the gRPC method to call, the request and
 * response mappings, and the HTTP status a success is answered with. Built at config load
 * (and reload); problems come back located in the `.proto` files.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { type CompiledHttpRules, compileHttpRules, type HttpBinding } from "./http-rule.ts";
import { cachedProtos } from "./proto-cache.ts";
import type { LoadedProtos, ProtoProblem } from "./proto-loader.ts";
import { compileRequestMapper, type RequestMapper } from "./request-mapping.ts";
import { compileResponseMapper, type ResponseMapper } from "./response-mapping.ts";

/** A `grpc-transcode` plugin entry's settings, with the folder its paths are relative to. */
export interface TranscoderOptions {
  protos: string[];
  includeDirs?: string[];
  baseDir: string;
  int64AsNumber?: boolean;
  emitDefaults?: boolean;
  useProtoFieldNames?: boolean;
  ignoreUnknownFields?: boolean;
  ignoreUnknownQueryParameters?: boolean;
  /** The HTTP status of a success, by `package.Service/Method`; default 200. */
  statuses?: Readonly<Record<string, number>>;
}

/** Everything a request that took one binding needs. */
export interface TranscodedMethod {
  binding: HttpBinding;
  /** `package.Service/Method`, as `statuses` names it. */
  name: string;
  /** The gRPC `:path`: `/package.Service/Method`. */
  grpcPath: string;
  serverStreaming: boolean;
  clientStreaming: boolean;
  mapRequest: RequestMapper;
  mapResponse: ResponseMapper;
  /** The HTTP status of a success (unless the service sets `x-http-status`). */
  successStatus: number;
}

/** What a request's method and path found. */
export type TranscoderMatch =
  | { kind: "method"; method: TranscodedMethod; variables: string[] }
  /** The path is bound, but not for this HTTP method: 405 with these in `Allow`. */
  | { kind: "method-not-allowed"; allowed: string[] }
  | { kind: "none" };

/** One binding in the admin API's runtime view. */
export interface TranscodedBindingView {
  /** `GET`, `POST`, … or a custom rule's kind. */
  httpMethod: string;
  /** The path template as the `.proto` writes it. */
  path: string;
  /** `package.Service/Method`. */
  grpcMethod: string;
  /** `*`, or the request field the body fills; absent when the body is not read. */
  body?: string;
  /** The response field sent as the body, when not the whole message. */
  responseBody?: string;
  serverStreaming?: boolean;
  /** Client-streaming methods are not transcoded: such a binding answers 501. */
  clientStreaming?: boolean;
  /** The HTTP status of a success (`statuses`, or 200). */
  status: number;
}

/** The compiled bindings of one plugin entry. */
export class Transcoder {
  readonly protos: LoadedProtos;
  readonly #rules: ReturnType<typeof compile>;

  private constructor(protos: LoadedProtos, rules: ReturnType<typeof compile>) {
    this.protos = protos;
    this.#rules = rules;
  }

  /**
   * Loads and compiles; the problems (located in the `.proto` files) when it cannot. The
   * files are parsed once for as long as they do not change (grpc/proto-cache).
   */
  static create(
    options: TranscoderOptions,
  ): { ok: true; transcoder: Transcoder } | { ok: false; problems: ProtoProblem[] } {
    const loaded = cachedProtos(options);
    if (!loaded.ok) return loaded;
    const compiled = compileHttpRules(loaded.protos.methods);
    if (!compiled.ok) return compiled;
    const unknown = Object.keys(options.statuses ?? {}).filter(
      (name) => !loaded.protos.methods.some(({ method }) => methodName(method) === name),
    );
    if (unknown.length > 0)
      return {
        ok: false,
        problems: unknown.map((name) => ({
          file: options.protos[0] ?? "",
          message: `statuses: ${name} is no method of these protos (write package.Service/Method)`,
        })),
      };
    const rules = compile(compiled.rules, loaded.protos, options);
    return { ok: true, transcoder: new Transcoder(loaded.protos, rules) };
  }

  /** The binding an HTTP request takes (the path without its query). */
  match(httpMethod: string, path: string): TranscoderMatch {
    const found = this.#rules.matcher.match(httpMethod, path);
    if (found) {
      const method = this.#rules.methods.get(found.value)!;
      return { kind: "method", method, variables: found.variables };
    }
    const allowed = this.#rules.matcher.methodsFor(path);
    return allowed.length > 0 ? { kind: "method-not-allowed", allowed } : { kind: "none" };
  }

  /** Every compiled binding with the method it calls, in the order the `.proto` files declare them. */
  methods(): TranscodedMethod[] {
    return [...this.#rules.methods.values()];
  }

  /** Each binding as the admin API's runtime view shows it: the HTTP side, the method it calls. */
  bindings(): TranscodedBindingView[] {
    return [...this.#rules.methods.values()].map((method) => {
      const { binding } = method;
      return {
        httpMethod: binding.httpMethod,
        path: binding.template.source,
        grpcMethod: method.name,
        ...(binding.body !== undefined && {
          body: binding.body === "*" ? "*" : binding.body.name,
        }),
        ...(binding.responseBody && { responseBody: binding.responseBody.name }),
        ...(method.serverStreaming && { serverStreaming: true }),
        ...(method.clientStreaming && { clientStreaming: true }),
        status: method.successStatus,
      };
    });
  }

  /** Every `.proto` file read (absolute paths): a change to one is a change to the config. */
  get files(): string[] {
    return this.protos.files;
  }
}

/** `package.Service/Method`. */
function methodName(method: DescMethod): string {
  return `${method.parent.typeName}/${method.name}`;
}

function compile(rules: CompiledHttpRules, protos: LoadedProtos, options: TranscoderOptions) {
  const registry = protos.registry;
  const methods = new Map<HttpBinding, TranscodedMethod>();
  for (const binding of rules.bindings) {
    const { method } = binding;
    const name = methodName(method);
    methods.set(binding, {
      binding,
      name,
      grpcPath: `/${name}`,
      serverStreaming:
        method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      clientStreaming:
        method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      mapRequest: compileRequestMapper(binding, {
        ignoreUnknownFields: options.ignoreUnknownFields,
        ignoreUnknownQueryParameters: options.ignoreUnknownQueryParameters,
        registry,
      }),
      mapResponse: compileResponseMapper(method.output, binding.responseBody, {
        int64AsNumber: options.int64AsNumber,
        emitDefaults: options.emitDefaults,
        useProtoFieldNames: options.useProtoFieldNames,
        registry,
      }),
      successStatus: options.statuses?.[name] ?? 200,
    });
  }
  return { matcher: rules.matcher, methods };
}
