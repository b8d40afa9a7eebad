import type {
  CancellationToken,
  Connection,
  GenericNotificationHandler,
  GenericRequestHandler,
} from 'vscode-languageserver/node';
import type { NotificationDescriptor, RequestDescriptor } from '../shared/protocol/worker';

/**
 * Typed wrappers over the connection for the descriptors of src/shared/protocol/worker.ts. The
 * descriptors carry the types; the connection is called with the method string.
 */

export function onNotification<P>(
  connection: Connection,
  descriptor: NotificationDescriptor<P>,
  handler: (params: P) => void,
): void {
  connection.onNotification(descriptor.method, handler as GenericNotificationHandler);
}

export function onRequest<P, R>(
  connection: Connection,
  descriptor: RequestDescriptor<P, R>,
  handler: (params: P, token: CancellationToken) => R | Promise<R>,
): void {
  connection.onRequest(descriptor.method, handler as GenericRequestHandler<R, void>);
}

export function sendNotification<P>(
  connection: Connection,
  descriptor: NotificationDescriptor<P>,
  params: P,
): Promise<void> {
  return connection.sendNotification(descriptor.method, params);
}
