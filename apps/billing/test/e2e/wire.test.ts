// The server as standard gRPC tooling sees it: a plain @grpc/grpc-js client loading the .proto
// files, server reflection over v1 and v1alpha (our client and buf curl), health and auth codes.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { createClient, Code, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  ServerReflection as ReflectionV1,
  type ServerReflectionRequestSchema,
} from "@billing/proto/grpc/reflection/v1/reflection_pb";
import { ServerReflection as ReflectionV1alpha } from "@billing/proto/grpc/reflection/v1alpha/reflection_pb";
import { HealthCheckResponse_ServingStatus as Status } from "@billing/proto/grpc/health/v1/health_pb";
import { FundingSource, WalletService } from "@billing/proto/billing/v1/wallet_pb";
import {
  type BillingProtocol,
  createBillingClient,
  errorReason,
  fieldViolations,
  insufficientFunds,
} from "@billing/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestBilling, type TestBilling } from "../support/helpers.js";

const PROTO_ROOT = fileURLToPath(new URL("../../../../proto", import.meta.url));
const run = promisify(execFile);

describe("wire compatibility, reflection, health and auth", () => {
  let billing: TestBilling;
  beforeAll(async () => {
    billing = await startTestBilling({ label: "wire" });
  });
  afterAll(async () => billing?.close());

  it("serves a plain @grpc/grpc-js client built from the .proto files", async () => {
    const definition = protoLoader.loadSync("billing/v1/wallet.proto", {
      includeDirs: [PROTO_ROOT],
      longs: String,
      enums: String,
      defaults: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      billing: { v1: { WalletService: grpc.ServiceClientConstructor } };
    };
    const client = new loaded.billing.v1.WalletService(
      billing.server.url.replace("http://", ""),
      grpc.credentials.createInsecure(),
    );
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${billing.tokens.admin}`);
    const call = <T>(method: string, request: object, md = metadata) =>
      new Promise<T>((resolve, reject) => {
        (
          client[method] as (
            r: object,
            m: grpc.Metadata,
            cb: (e: grpc.ServiceError | null, v: T) => void,
          ) => void
        ).call(client, request, md, (error, value) => (error ? reject(error) : resolve(value)));
      });
    try {
      const prices = await call<{ prices: { operation: string; priceCredits: string }[] }>(
        "GetPriceList",
        {},
      );
      expect(prices.prices).toContainEqual(
        expect.objectContaining({ operation: "generate", priceCredits: "10" }),
      );
      const opened = await call<{ created: boolean; balance: { freeOperationsAvailable: string } }>(
        "OpenAccount",
        {
          userRef: "grpcjs:1",
        },
      );
      expect(opened.created).toBe(true);
      expect(opened.balance.freeOperationsAvailable).toBe("4");

      // Status codes and rich details arrive intact.
      const failure = await call("Charge", {
        userRef: "grpcjs:1",
        operation: "teleport",
        idempotencyKey: "k",
      }).catch((e: unknown) => e as grpc.ServiceError);
      expect((failure as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((failure as grpc.ServiceError).metadata.get("grpc-status-details-bin")).toHaveLength(1);
      const denied = await call("GetPriceList", {}, new grpc.Metadata()).catch(
        (e: unknown) => e as grpc.ServiceError,
      );
      expect((denied as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    } finally {
      client.close();
    }
  });

  it("lists services and resolves a method over reflection v1 and v1alpha", async () => {
    const transport = createGrpcTransport({ baseUrl: billing.server.url });
    for (const service of [ReflectionV1, ReflectionV1alpha]) {
      const client = createClient(service as typeof ReflectionV1, transport);
      async function* requests(): AsyncIterable<MessageInitShape<typeof ServerReflectionRequestSchema>> {
        yield { messageRequest: { case: "listServices", value: "" } };
        yield { messageRequest: { case: "fileContainingSymbol", value: "billing.v1.WalletService.Charge" } };
        yield { messageRequest: { case: "fileContainingSymbol", value: "google.rpc.ErrorInfo" } };
        yield { messageRequest: { case: "fileByFilename", value: "no/such.proto" } };
      }
      const answers = [];
      for await (const answer of client.serverReflectionInfo(requests())) answers.push(answer);
      expect(answers).toHaveLength(4);
      const [list, wallet, errors, missing] = answers;
      expect(list?.messageResponse.case).toBe("listServicesResponse");
      const names =
        list?.messageResponse.case === "listServicesResponse"
          ? list.messageResponse.value.service.map((s) => s.name)
          : [];
      expect(names).toEqual(
        expect.arrayContaining([
          "billing.v1.WalletService",
          "grpc.health.v1.Health",
          "grpc.reflection.v1alpha.ServerReflection",
        ]),
      );
      expect(wallet?.messageResponse.case).toBe("fileDescriptorResponse");
      if (wallet?.messageResponse.case === "fileDescriptorResponse") {
        const files = wallet.messageResponse.value.fileDescriptorProto.map((bytes) =>
          fromBinary(FileDescriptorProtoSchema, bytes),
        );
        expect(files[0]?.name).toBe("billing/v1/wallet.proto");
        expect(files.map((f) => f.name)).toEqual(
          expect.arrayContaining(["google/protobuf/duration.proto", "google/protobuf/timestamp.proto"]),
        );
        const charge = files[0]?.service
          .find((s) => s.name === "WalletService")
          ?.method.find((m) => m.name === "Charge");
        expect(charge?.inputType).toBe(".billing.v1.ChargeRequest");
      }
      expect(errors?.messageResponse.case).toBe("fileDescriptorResponse");
      expect(missing?.messageResponse.case).toBe("errorResponse");
    }
  });

  it("works with buf curl and no .proto files", async () => {
    const buf = ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    const env = { ...process.env, BUF_CACHE_DIR: process.env.BUF_CACHE_DIR ?? "/tmp/buf-cache" };
    for (const reflectProtocol of ["grpc-v1alpha", "grpc-v1"]) {
      const listed = await run(
        "npx",
        [...buf, "--reflect-protocol", reflectProtocol, "--list-services", billing.server.url],
        { env },
      );
      expect(listed.stdout).toContain("billing.v1.WalletService");
      expect(listed.stdout).toContain("grpc.health.v1.Health");
    }
    const prices = await run(
      "npx",
      [
        ...buf,
        "-H",
        `authorization: Bearer ${billing.tokens.bot}`,
        `${billing.server.url}/billing.v1.WalletService/GetPriceList`,
      ],
      { env },
    );
    expect(JSON.parse(prices.stdout)).toMatchObject({
      prices: expect.arrayContaining([
        { operation: "generate", priceCredits: "10", freeOperationEligible: true },
      ]),
    });
  });

  it("answers each auth failure with its exact code", async () => {
    const transport = (token?: string) =>
      createGrpcTransport({
        baseUrl: billing.server.url,
        interceptors:
          token === undefined
            ? []
            : [(next) => (req) => (req.header.set("authorization", `Bearer ${token}`), next(req))],
      });
    const wallet = (token?: string) => createClient(WalletService, transport(token));
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => Code[0],
        (e: unknown) => [Code[ConnectError.from(e).code], errorReason(e)],
      );

    expect(await codeOf(wallet().getPriceList({}))).toEqual(["Unauthenticated", "UNAUTHENTICATED"]);
    expect(await codeOf(wallet("not-a-real-token-at-all").getPriceList({}))).toEqual([
      "Unauthenticated",
      "UNAUTHENTICATED",
    ]);
    expect(
      await codeOf(
        wallet(billing.tokens.worker).grant({
          userRef: "u:1",
          amountCredits: 5n,
          reason: "x",
          idempotencyKey: "g",
        }),
      ),
    ).toEqual(["PermissionDenied", "PERMISSION_DENIED"]);
    expect(await codeOf(wallet(billing.tokens.bot).verifyLedger({}))).toEqual([
      "PermissionDenied",
      "PERMISSION_DENIED",
    ]);
    await expect(wallet(billing.tokens.admin).verifyLedger({})).resolves.toMatchObject({ ok: true });
    await expect(wallet(billing.tokens.bot).getPriceList({})).resolves.toMatchObject({
      prices: expect.any(Array),
    });
    // Health and reflection need no token.
    expect((await billing.client("bot").health.check({})).status).toBe(Status.SERVING);
  });

  it("gives @billing/client the same answers, refusals and replays over Connect (its default) and gRPC", async () => {
    const clientOver = (protocol: BillingProtocol) =>
      createBillingClient({ baseUrl: billing.server.url, token: billing.tokens.admin, protocol });
    const connect = clientOver("connect");
    const grpcClient = clientOver("grpc");
    const refusal = (error: unknown) => ({
      code: Code[ConnectError.from(error).code],
      reason: errorReason(error),
      fields: fieldViolations(error),
      funds: insufficientFunds(error),
    });
    try {
      const user = "telegram:wire-protocols";
      await connect.wallet.openAccount({ userRef: user });
      // The four starter operations, two charged over each protocol.
      const charged = [];
      for (const [index, client] of [connect, grpcClient, connect, grpcClient].entries()) {
        charged.push(
          await client.wallet.charge({
            userRef: user,
            operation: "generate",
            idempotencyKey: `wire-${index}`,
          }),
        );
      }
      expect(charged.map((c) => [c.fundedBy, c.balanceAfter?.freeOperationsAvailable])).toEqual([
        [FundingSource.FREE_OPERATION, 3n],
        [FundingSource.FREE_OPERATION, 2n],
        [FundingSource.FREE_OPERATION, 1n],
        [FundingSource.FREE_OPERATION, 0n],
      ]);
      // A key used over one protocol replays over the other: the same answer, nothing charged again.
      expect(
        await grpcClient.wallet.charge({ userRef: user, operation: "generate", idempotencyKey: "wire-0" }),
      ).toEqual(charged[0]);
      expect(
        await connect.wallet.charge({ userRef: user, operation: "generate", idempotencyKey: "wire-1" }),
      ).toEqual(charged[1]);

      // Refusals carry the same code, reason, field and details over both.
      const refusals = async (call: (client: typeof connect) => Promise<unknown>) =>
        Promise.all([connect, grpcClient].map((client) => call(client).then(() => "accepted", refusal)));
      const [poorOverConnect, poorOverGrpc] = await refusals((client) =>
        client.wallet.charge({
          userRef: user,
          operation: "edit",
          idempotencyKey: client === connect ? "poor-connect" : "poor-grpc",
        }),
      );
      expect(poorOverConnect).toEqual(poorOverGrpc);
      expect(poorOverConnect).toMatchObject({
        code: "FailedPrecondition",
        reason: "INSUFFICIENT_FUNDS",
        funds: { operation: "edit", creditsAvailable: 0n, freeOperationsAvailable: 0n },
      });
      const [invalidOverConnect, invalidOverGrpc] = await refusals((client) =>
        client.wallet.charge({ userRef: "", operation: "generate", idempotencyKey: "k" }),
      );
      expect(invalidOverConnect).toEqual(invalidOverGrpc);
      expect(invalidOverConnect).toMatchObject({
        code: "InvalidArgument",
        fields: { user_ref: expect.any(String) },
      });
      expect((await connect.wallet.getBalance({ userRef: user })).freeOperationsAvailable).toBe(0n);
    } finally {
      connect.close();
      grpcClient.close();
    }
  });
});
