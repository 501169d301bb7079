import multipart from "@fastify/multipart";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Db } from "../../storage/db.ts";
import { nx1BulkRoutes } from "./bulk.routes.ts";
import { type GroupDelivery, nx1GroupRoutes } from "./groups.routes.ts";
import { nx1MetadataRoutes } from "./metadata.routes.ts";
import { nx1PolicyRoutes } from "./policies.routes.ts";
import { nx1TagRoutes } from "./tags.routes.ts";

/** Largest bulk upload part: the stream is processed as it arrives, this only bounds abuse. */
const MAX_UPLOAD_BYTES = 512 * 1024 * 1024;

/**
 * The Nx1 governance API (`/api/govern/data-access/*`) over the service named by
 * GATEHOUSE_NX1_SERVICE, answering in Nx1's shapes. Multipart parsing is registered here, inside
 * this plugin's scope, so it serves the bulk routes only.
 */
export function nx1Routes(db: Db, serviceName: string, delivery?: GroupDelivery): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(multipart, {
      limits: { fileSize: MAX_UPLOAD_BYTES, fieldSize: 64 * 1024 * 1024, files: 4, fields: 16, parts: 20 },
    });
    await app.register(nx1PolicyRoutes(db, serviceName));
    await app.register(nx1BulkRoutes(db, serviceName));
    await app.register(nx1MetadataRoutes(db, serviceName));
    await app.register(nx1GroupRoutes(db, delivery));
    await app.register(nx1TagRoutes(db, serviceName));
  };
}
