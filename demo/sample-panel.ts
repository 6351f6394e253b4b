/**
 * The "try it" panel of the built-in default model (issue 16): what the model is, in one line (index.html), its
 * sample pictures and suggested questions. A picture starts a new chat about it (attached, not sent); a question
 * fills the text box — with its picture attached first when the chat is not already about that picture.
 */
import type { SarashinaChatElement } from '../src/component/index';
import { type DemoSample, demoSamples, samplePng } from './samples';

export interface SamplePanel {
  /** Shows the panel (drawing the pictures the first time) or hides it. */
  setVisible(visible: boolean): void;
}

export function mountSamplePanel(chat: SarashinaChatElement, section: HTMLElement, list: HTMLElement): SamplePanel {
  let built = false;
  /** The sample the current chat is about (its picture was attached by the panel). */
  let active: DemoSample | null = null;
  const pictures = new Map<DemoSample, Promise<Blob>>();

  const startChatAbout = async (sample: DemoSample, text?: string): Promise<void> => {
    const picture = await (pictures.get(sample) as Promise<Blob>);
    if (chat.messageCount > 0) chat.clear();
    chat.compose({ images: [picture], ...(text === undefined ? {} : { text }) });
    active = sample;
  };

  const build = (): void => {
    built = true;
    demoSamples().forEach((sample, n) => {
      const png = samplePng(sample);
      pictures.set(sample, png);
      const card = document.createElement('figure');
      card.className = 'sample';
      const pick = document.createElement('button');
      pick.type = 'button';
      pick.className = 'sample-picture';
      pick.dataset.sample = String(sample.index);
      pick.title = '新しい会話でこの画像を添付 (attach this picture in a new chat)';
      const img = document.createElement('img');
      img.alt = `見本の画像 ${n + 1} (sample picture ${n + 1})`;
      img.width = Math.round((sample.width * 96) / sample.height);
      img.height = 96;
      void png.then((blob) => (img.src = URL.createObjectURL(blob)));
      pick.append(img);
      pick.addEventListener('click', () => void startChatAbout(sample));
      const suggestions = document.createElement('figcaption');
      for (const q of sample.questions) {
        const ask = document.createElement('button');
        ask.type = 'button';
        ask.className = 'suggestion';
        ask.dataset.sample = String(sample.index);
        ask.lang = q.language;
        ask.textContent = q.question;
        ask.addEventListener('click', () => {
          if (active === sample && chat.messageCount > 0) chat.compose({ text: q.question });
          else void startChatAbout(sample, q.question);
        });
        suggestions.append(ask);
      }
      card.append(pick, suggestions);
      list.append(card);
    });
  };

  return {
    setVisible(visible: boolean): void {
      if (visible && !built) build();
      section.hidden = !visible;
    },
  };
}
