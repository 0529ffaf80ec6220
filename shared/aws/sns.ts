import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { renderNotification, toSnsAttributes } from '../notify/render.js';
import type { Notification, RenderedNotification } from '../notify/types.js';

/** Every notification goes out through here: rendered once, the same way for every sender. */
export async function publish(sns: SNSClient, topicArn: string, notification: Notification): Promise<RenderedNotification & { messageId?: string }> {
  const rendered = renderNotification(notification);
  const sent = await sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Subject: rendered.subject,
      Message: rendered.message,
      MessageAttributes: toSnsAttributes(rendered.attributes),
    }),
  );
  return { ...rendered, ...(sent.MessageId ? { messageId: sent.MessageId } : {}) };
}
